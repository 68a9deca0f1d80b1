import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { DriftReport, MonitoringWindow } from '@refit/contracts';
import { datasetDrift, type DatasetDriftResult, type DriftColumn } from '@refit/ml';
import { rowsFromJsonl, type RawRow } from '@refit/modeling';
import type { ArtifactStore } from '@refit/platform';
import type pg from 'pg';
import type { LiveDriftOptions } from './config.js';
import { categorical, numeric } from './drift-check.js';
import { driftReportMessage, storedColumns } from './drift-report.js';
import { referenceOf, type SnapshotStats } from './stats.js';
import { getStats, insertWindowDrift, runOfVersion } from './store.js';

/** The columns of a window of served rows to compare: every statistics column the window carries (the served features). */
export function liveDriftColumns(stats: SnapshotStats, rows: RawRow[]): DriftColumn[] {
  return stats.columns
    .filter((c) => rows.some((r) => r[c.name] !== null && r[c.name] !== undefined))
    .map((c) =>
      c.kind === 'numeric'
        ? { name: c.name, type: 'numeric', reference: referenceOf(stats, c.name) as number[], current: numeric(rows, c.name) }
        : { name: c.name, type: 'categorical', reference: referenceOf(stats, c.name) as string[], current: categorical(rows, c.name) },
    );
}

/** Live drift of {@link liveDriftColumns}: PSI on the reference's decile bins. */
const psiDrift = (columns: DriftColumn[], opts: LiveDriftOptions): DatasetDriftResult => datasetDrift(columns, { test: 'psi', threshold: opts.psiThreshold, minSamples: opts.minSamples });

/**
 * Drift of a window of served rows against a run's training statistics: every statistics column
 * the window carries (the served features) is compared by PSI on the reference's decile bins —
 * PSI, not a p-value test, because p-values on a few thousand rows flag harmless differences;
 * a column with fewer than `minSamples` values is not-enough-data.
 */
export function measureLiveDrift(stats: SnapshotStats, rows: RawRow[], opts: LiveDriftOptions): DatasetDriftResult {
  return psiDrift(liveDriftColumns(stats, rows), opts);
}

/** Why a window was not measured: logged, the window is skipped. */
export type SkippedWindow = { skipped: string };

/**
 * Measures one monitoring window's feature sample against the training statistics of the run
 * that produced the served version, stores the result and returns the live `drift.report`.
 * Windows without a sample, of an unknown version, or measured already are skipped.
 */
export async function checkLiveDrift({ store }: { store: Pick<ArtifactStore, 'get' | 'putContentAddressed'> }, tx: pg.PoolClient, w: MonitoringWindow, opts: LiveDriftOptions): Promise<DriftReport | SkippedWindow> {
  if (!w.features?.key || !w.windowEnd) return { skipped: 'the window carries no feature sample' };
  const referenceRunId = await runOfVersion(tx, w.pipeline, w.version);
  if (!referenceRunId) return { skipped: `no registered version '${w.version}' of '${w.pipeline}' is known: no training reference` };
  const statsRow = await getStats(tx, referenceRunId);
  if (!statsRow) return { skipped: `run ${referenceRunId} (version ${w.version}) has no training statistics` };
  const stats = JSON.parse((await store.get(statsRow.stats_key)).toString('utf8')) as SnapshotStats;
  const rows = rowsFromJsonl(await store.get(w.features.key));
  const columns = liveDriftColumns(stats, rows);
  const result = psiDrift(columns, opts);
  const stored = storedColumns(result, columns, 'statistic');
  const windowEnd = timestampDate(w.windowEnd);
  const body = { ...result, columns: stored, source: 'live', pipeline: w.pipeline, version: w.version, windowEnd: windowEnd.toISOString(), referenceRunId, rows: rows.length, options: opts };
  const ref = await store.putContentAddressed(`pipelines/${w.pipeline}/drift`, Buffer.from(JSON.stringify(body, null, 2)), '.json');
  const fresh = await insertWindowDrift(tx, { pipeline: w.pipeline, version: w.version, windowEnd, referenceRunId, status: result.status, share: result.share, rows: rows.length, reportKey: ref.key });
  if (!fresh) return { skipped: `window ending ${windowEnd.toISOString()} of ${w.version} was measured already` };
  return driftReportMessage({ source: 'live', pipeline: w.pipeline, runId: '', referenceRunId, status: result.status, share: result.share, version: w.version, windowEnd }, stored, ref);
}

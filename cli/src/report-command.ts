/**
 * `refit report <run> -o report.html`: one self-contained HTML file with the run's evaluation,
 * drift and decision (uPlot inlined, no web address), for a review or an audit.
 */
import { writeFile } from 'node:fs/promises';
import type { Run } from '@refit/contracts';
import { isNotFound, isPermissionDenied, isUnauthenticated } from '@refit/platform/client';
import { driftViewFromReport, loadUplotAssets, renderRunReport, type DriftView } from '@refit/views';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';

/**
 * The run's training-drift reports (FeatureService.ListDrift); when there are none (or the feature
 * service predates ListDrift), the report carries the feature stage's own drift sentence instead.
 */
async function driftOf(c: Clients, run: Run): Promise<{ drift: DriftView[]; unavailable?: string }> {
  const featureDetail = run.stages.find((s) => s.stage === 'feature')?.detail;
  const fallback = featureDetail ? `drift as the feature stage recorded it: ${featureDetail}` : 'no drift reports for this run';
  let drift: DriftView[] = [];
  try {
    const r = await c.feature.listDrift({ pipeline: run.pipeline, limit: 200, source: 'training' });
    drift = r.reports.filter((d) => d.runId === run.runId).map(driftViewFromReport);
  } catch (err) {
    // An older feature service answers UNIMPLEMENTED: the report still has everything else.
    if (isPermissionDenied(err) || isUnauthenticated(err)) throw err;
  }
  return drift.length > 0 ? { drift } : { drift, unavailable: fallback };
}

/** Writes the report of `runId` to `out`; returns the number of bytes written. */
export async function runReport(c: Clients, io: Io, runId: string, out: string): Promise<number> {
  const { run } = await c.trigger.getRun({ runId });
  if (!run) throw new Error(`the trigger service returned no run ${runId}`);
  const report = await c.evaluator.getReport({ runId }).then(
    (r) => r.report,
    (err: unknown) => {
      // A run that failed before evaluation has no report: the file says so instead of failing.
      if (isNotFound(err)) return undefined;
      throw err;
    },
  );
  const { drift, unavailable } = await driftOf(c, run);
  const { js, css } = loadUplotAssets();
  const html = renderRunReport({ assets: { kind: 'standalone', uplotJs: js, uplotCss: css } }, { run, report, drift, driftUnavailable: unavailable, generatedAtMs: Date.now() }).value;
  await writeFile(out, html, 'utf8');
  const bytes = Buffer.byteLength(html);
  io.out(io.json ? JSON.stringify({ runId, file: out, bytes }) : `report of run ${runId} written to ${out} (${bytes} bytes, opens without a network)`);
  return bytes;
}

import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { DriftReportSchema, type DriftReport } from '@refit/contracts';
import { driftHistogram, type ColumnDriftResult, type DatasetDriftResult, type DriftColumn, type DriftHistogram } from '@refit/ml';
import { wireRef, type ArtifactRef } from '@refit/platform';

/**
 * One column of a drift report as stored in the object store: libs/ml's verdict plus its PSI and
 * the two histograms compared. Reports stored before histograms were recorded lack both.
 */
export type StoredColumn = ColumnDriftResult & { psi?: number | null; histogram?: DriftHistogram | null };

/**
 * Where a column's PSI comes from: `numeric` (training: PSI besides the chosen test, for numeric
 * columns with both samples) or `statistic` (live: PSI is the test, so its statistic, null when
 * there was not enough data).
 */
export type PsiSource = 'numeric' | 'statistic';

/**
 * The stored form of each column of a drift result: the verdict, its PSI (see {@link PsiSource})
 * and the reference/current histograms on PSI's bins (null when a sample is empty).
 */
export function storedColumns(result: DatasetDriftResult, columns: readonly DriftColumn[], psiSource: PsiSource): StoredColumn[] {
  return result.columns.map((c, i) => {
    const histogram = driftHistogram(columns[i]);
    const psi = psiSource === 'statistic' ? c.statistic : histogram && c.type === 'numeric' ? histogram.psi : null;
    return { ...c, psi, histogram };
  });
}

/** What a drift report says besides its columns: the row the feature service keeps for it. */
export type DriftHeader = {
  source: 'training' | 'live';
  pipeline: string;
  /** training: the run whose data was checked; live: empty. */
  runId: string;
  referenceRunId: string;
  status: string;
  share: number | null;
  /** live: the served version and the end of its window. */
  version?: string;
  windowEnd?: Date;
};

function columnMessage(c: StoredColumn, source: DriftHeader['source']) {
  // A live report stored before PSI was kept per column: its test was PSI, so the statistic is it.
  const psi = c.psi !== undefined ? c.psi : source === 'live' ? c.statistic : null;
  const h = c.histogram;
  return {
    column: c.column,
    test: c.test,
    statistic: c.statistic ?? Number.NaN,
    pValue: c.pValue ?? undefined,
    psi: psi ?? undefined,
    status: c.status,
    referenceSize: BigInt(c.referenceSize),
    currentSize: BigInt(c.currentSize),
    histogram: h ? { edges: h.edges, categories: h.categories, reference: h.reference, current: h.current } : undefined,
  };
}

/**
 * The `refit.events.v1.DriftReport` of a stored report: the one `drift.report` carried when it was
 * measured, and the one ListDrift reads back (the same function builds both).
 */
export function driftReportMessage(header: DriftHeader, columns: readonly StoredColumn[], ref: ArtifactRef): DriftReport {
  return create(DriftReportSchema, {
    source: header.source,
    pipeline: header.pipeline,
    runId: header.runId,
    referenceRunId: header.referenceRunId,
    status: header.status,
    share: header.share ?? 0,
    version: header.version ?? '',
    windowEnd: header.windowEnd && timestampFromDate(header.windowEnd),
    columns: columns.map((c) => columnMessage(c, header.source)),
    report: wireRef(ref),
  });
}

import { quantileSorted } from '@refit/ml';
import type { RawRow } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';

/** Values of a numeric column kept in the statistics as the drift reference (evenly spaced order statistics). */
export const REFERENCE_SAMPLE = 2000;
/** Histogram bins of a numeric column. */
export const HISTOGRAM_BINS = 20;
/** Distinct categories counted per column; the rest are summed under `__more__`. */
export const MAX_CATEGORIES = 1000;

/** Statistics of one numeric column. */
export type NumericStats = {
  name: string;
  kind: 'numeric';
  count: number;
  missing: number;
  missingRate: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** p01, p05, p25, p50, p75, p95, p99. */
  quantiles: Record<string, number>;
  histogram: { edges: number[]; counts: number[] };
  /** Evenly spaced order statistics of the values: the reference drift tests compare against. */
  sample: number[];
};

/** Statistics of one categorical column. */
export type CategoricalStats = { name: string; kind: 'categorical'; count: number; missing: number; missingRate: number; frequencies: Record<string, number> };

/** Per-snapshot statistics (of the training split), stored as a JSON artifact. */
export type SnapshotStats = { version: 1; pipeline: string; runId: string; snapshotSha256: string; rows: number; columns: Array<NumericStats | CategoricalStats> };

const isMissing = (v: RawRow[string]): boolean => v === null || v === undefined || (typeof v === 'string' && v.trim() === '') || (typeof v === 'number' && Number.isNaN(v));

const QUANTILES: Record<string, number> = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 };

function numericStats(name: string, rows: readonly RawRow[]): NumericStats {
  const values: number[] = [];
  for (const r of rows) {
    const v = r[name];
    const x = typeof v === 'number' ? v : isMissing(v) ? NaN : Number(v);
    if (Number.isFinite(x)) values.push(x);
  }
  const s = Float64Array.from(values).sort();
  const n = s.length;
  let sum = 0;
  for (const x of s) sum += x;
  const mean = n ? sum / n : 0;
  let sq = 0;
  for (const x of s) sq += (x - mean) ** 2;
  const min = n ? s[0] : 0;
  const max = n ? s[n - 1] : 0;
  const width = (max - min) / HISTOGRAM_BINS || 1;
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const x of s) counts[Math.min(HISTOGRAM_BINS - 1, Math.floor((x - min) / width))]++;
  const k = Math.min(n, REFERENCE_SAMPLE);
  return {
    name,
    kind: 'numeric',
    count: rows.length,
    missing: rows.length - n,
    missingRate: rows.length ? (rows.length - n) / rows.length : 0,
    mean,
    std: n ? Math.sqrt(sq / n) : 0,
    min,
    max,
    quantiles: Object.fromEntries(Object.entries(QUANTILES).map(([key, q]) => [key, n ? quantileSorted(s, q) : Number.NaN])),
    histogram: { edges: Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => min + i * width), counts },
    sample: Array.from({ length: k }, (_, i) => s[k === n ? i : Math.round((i * (n - 1)) / Math.max(1, k - 1))]),
  };
}

function categoricalStats(name: string, rows: readonly RawRow[]): CategoricalStats {
  const freq = new Map<string, number>();
  let missing = 0;
  for (const r of rows) {
    const v = r[name];
    if (isMissing(v)) {
      missing++;
      continue;
    }
    const key = freq.has(String(v)) || freq.size < MAX_CATEGORIES ? String(v) : '__more__';
    freq.set(key, (freq.get(key) ?? 0) + 1);
  }
  return { name, kind: 'categorical', count: rows.length, missing, missingRate: rows.length ? missing / rows.length : 0, frequencies: Object.fromEntries([...freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) };
}

/**
 * Statistics of every schema column over `rows` (the training split): dates are left out. A
 * pipeline whose schema is inferred by ingestion declares no columns here: its features are used.
 */
export function computeStats(spec: PipelineSpec, rows: readonly RawRow[], ids: { runId: string; snapshotSha256: string }): SnapshotStats {
  const declared = spec.schema.columns.map((c) => ({ name: c.name, numeric: c.type === 'number' || c.type === 'integer', date: c.type === 'date' }));
  const fromFeatures = spec.features.map((f) => ({ name: f.name, numeric: f.type === 'number', date: (f.type as string) === 'date' }));
  const columns = (declared.length > 0 ? declared : fromFeatures)
    .filter((c) => !c.date)
    .map((c) => (c.numeric ? numericStats(c.name, rows) : categoricalStats(c.name, rows)));
  return { version: 1, pipeline: spec.name, ...ids, rows: rows.length, columns };
}

/** The reference values of a column for the drift tests: the numeric sample, or categories repeated by frequency. */
export function referenceOf(stats: SnapshotStats, name: string): number[] | string[] | undefined {
  const c = stats.columns.find((x) => x.name === name);
  if (!c) return undefined;
  if (c.kind === 'numeric') return c.sample;
  return Object.entries(c.frequencies).flatMap(([k, n]) => new Array<string>(n).fill(k));
}

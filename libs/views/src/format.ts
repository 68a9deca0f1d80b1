/** Small formatters shared by the pages: numbers, times, durations, verdicts. */
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import { Verdict } from '@refit/contracts';

/** A metric value with 4 significant decimals, `–` when missing or not finite. */
export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits);
}

/** A signed difference (`+0.0123`). */
export function signed(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/** A p-value: 3 decimals, or 2 significant digits below 0.001 (`9.4e-6`). */
export function pValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v > 0 && v < 0.001 ? v.toExponential(1) : v.toFixed(3);
}

/** A protobuf timestamp as milliseconds since the epoch (undefined when unset). */
export function tsMs(t: Timestamp | undefined): number | undefined {
  return t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : undefined;
}

/** A time in UTC, `2026-12-06 09:03:12Z`; `–` when unknown. */
export function when(ms: number | bigint | undefined): string {
  if (ms === undefined) return '–';
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return '–';
  return new Date(n).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A protobuf timestamp in UTC. */
export const whenTs = (t: Timestamp | undefined): string => when(tsMs(t));

/** A duration in ms as `850 ms`, `12.3 s`, `4 min 5 s`. */
export function duration(ms: number | bigint | undefined): string {
  if (ms === undefined) return '–';
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)} s`;
  return `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`;
}

/** A verdict as a word. */
export function verdictWord(v: Verdict): string {
  return v === Verdict.PASS ? 'pass' : v === Verdict.FAIL ? 'fail' : v === Verdict.INCONCLUSIVE ? 'inconclusive' : 'unknown';
}

/** Parses a JSON text the services produced; undefined when it is empty or malformed (shown as missing, never thrown). */
export function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A plain object from unknown JSON, or an empty one. */
export function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** An array from unknown JSON, or an empty one. */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A finite number from unknown JSON, or undefined. */
export function numOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** A string from unknown JSON, or ''. */
export function strOf(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** Numbers from an unknown JSON array (non-numbers become NaN, so positions stay aligned). */
export function nums(v: unknown): number[] {
  return arr(v).map((x) => (typeof x === 'number' ? x : Number.NaN));
}

/** The min / median / max of a benchmark's repeated measurements (the lower median of an even count). */
export function spreadOf(values: readonly number[]): { min: number; median: number; max: number } {
  const v = [...values].sort((a, b) => a - b);
  return { min: v[0], median: v[Math.floor((v.length - 1) / 2)], max: v[v.length - 1] };
}

import type { ArtifactRef } from '@refit/contracts';
import type { ArtifactStore } from '@refit/platform';

/** The non-empty lines of a JSON-lines object. */
export const linesOf = (buf: Buffer): string[] => buf.toString('utf8').split('\n').filter(Boolean);

/**
 * Every raw row (as its JSON line, the serialization the ingestion service writes every split in)
 * that a model trained or early-stopped on: the lines of its train and validation splits.
 */
export async function rowsTrainedOn(store: Pick<ArtifactStore, 'get'>, splits: ReadonlyArray<ArtifactRef | undefined>): Promise<Set<string>> {
  const out = new Set<string>();
  const keys = new Set(splits.flatMap((r) => (r?.key ? [r.key] : [])));
  for (const key of keys) for (const line of linesOf(await store.get(key))) out.add(line);
  return out;
}

/** What was left out of a comparison, and why. */
export type LeftOut = { rows: number; of: number; reason: string };

/**
 * The test rows a candidate may be compared with its champion on: those the champion neither
 * trained nor early-stopped on (the candidate never saw its own test split). Undefined when every
 * row qualifies.
 */
export function comparableRows(testLines: readonly string[], championTrainedOn: ReadonlySet<string>, championVersion: string): { keep: number[]; leftOut: LeftOut } | undefined {
  const keep = testLines.flatMap((l, i) => (championTrainedOn.has(l) ? [] : [i]));
  if (keep.length === testLines.length) return undefined;
  const rows = testLines.length - keep.length;
  return { keep, leftOut: { rows, of: testLines.length, reason: `champion ${championVersion} trained or early-stopped on ${rows} of the ${testLines.length} test rows` } };
}

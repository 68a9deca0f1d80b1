import type { LabelledMatrix } from '@refit/modeling';
import { verdictOf } from './gates.js';
import type { Evaluation } from './judge.js';
import type { LeftOut } from './trained-rows.js';

/** The rows `keep` of a feature matrix, in that order. */
export function subsetMatrix(m: LabelledMatrix, keep: readonly number[]): LabelledMatrix {
  const X = new Float32Array(keep.length * m.d);
  keep.forEach((i, r) => X.set(m.X.subarray(i * m.d, (i + 1) * m.d), r * m.d));
  return { ...m, X, y: Float32Array.from(keep, (i) => m.y[i]), n: keep.length };
}

/**
 * The candidate's own evaluation when every test row was one the champion trained on: its floors
 * stand, and in place of the comparison an inconclusive gate that says why.
 */
export function withoutComparison(alone: Evaluation, championVersion: string, leftOut: LeftOut): Evaluation {
  const gates = alone.gates.filter((g) => g.gate !== 'champion');
  gates.push({ gate: 'champion', outcome: 'inconclusive', passed: false, reason: `no test row is left to compare with champion ${championVersion} on: ${leftOut.reason}` });
  // The champion is named (the backtest still compares with it), with no metrics on these rows.
  return { ...alone, gates, verdict: verdictOf(gates), champion: { version: championVersion, metrics: {} }, leftOut: { ...leftOut } };
}

/** What identifies a trained model: its bytes' and its snapshot's sha256. */
export type ModelBytes = { sha256?: string; snapshotSha256?: string };

/**
 * A candidate whose model bytes are the champion's (a run on the same data with the same spec
 * and seed) changes nothing: whatever a not-worse rule says about two identical models, there is
 * nothing to promote, so the comparison is inconclusive and says why.
 */
export function sameAsChampion(evaluation: Evaluation, mine: ModelBytes, champion: (ModelBytes & { version: string }) | undefined): Evaluation {
  if (!champion || !mine.sha256 || mine.sha256 !== champion.sha256) return evaluation;
  const snapshot = mine.snapshotSha256 && mine.snapshotSha256 === champion.snapshotSha256 ? ', trained on the same snapshot' : '';
  const gates = evaluation.gates.filter((g) => !g.gate.startsWith('champion'));
  gates.push({ gate: 'champion', outcome: 'inconclusive', passed: false, reason: `the candidate is champion ${champion.version} itself (the same model bytes, sha256 ${mine.sha256.slice(0, 12)}…${snapshot}): nothing new to promote` });
  return { ...evaluation, gates, verdict: verdictOf(gates) };
}

import { applyTransform, type RawRow } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';
import { sameAsChampion, subsetMatrix, withoutComparison } from '../../services/evaluator/src/no-comparison.js';
import { judge, type Evaluation } from '../../services/evaluator/src/judge.js';
import { comparableRows, type LeftOut } from '../../services/evaluator/src/trained-rows.js';
import type { ReplayModel, Trained } from './train.js';

/**
 * The evaluator's judgement of a candidate without its storage: the candidate and the champion
 * (through its own transform) scored on the candidate's test rows that the champion neither
 * trained nor early-stopped on (`comparableRows`), then the evaluator's own `judge` with the
 * spec's gates; a candidate that is the champion's own model bytes is never promoted. Backtests
 * (`evaluation.backtest`) need the raw history and are not replayed.
 */
export function evaluateCandidate(spec: PipelineSpec, cand: Trained, champion: ReplayModel | undefined): Evaluation {
  return sameAsChampion(judgeOnTestRows(spec, cand, champion), cand, champion);
}

function judgeOnTestRows(spec: PipelineSpec, cand: Trained, champion: ReplayModel | undefined): Evaluation {
  let test = cand.test.matrix;
  let rows: RawRow[] = cand.test.rows;
  let probs = cand.model.predict(test.X, test.n);
  let leftOut: LeftOut | undefined;
  const comparable = champion ? comparableRows(cand.test.lines, champion.trainedOn, champion.version) : undefined;
  const features = () => ({ ...test, sources: cand.transform.features.map((f) => f.name) });
  if (champion && comparable?.keep.length === 0) {
    return withoutComparison(judge({ spec, head: spec.model.head, y: test.y, candidate: probs, candidateThreshold: cand.threshold, rows, features: features() }), champion.version, comparable.leftOut);
  }
  if (comparable) {
    ({ leftOut } = comparable);
    test = subsetMatrix(test, comparable.keep);
    const all = probs;
    probs = Float32Array.from(comparable.keep, (i) => all[i]);
    rows = comparable.keep.map((i) => cand.test.rows[i]);
  }
  const championProbs = champion && { version: champion.version, probs: champion.model.predict(applyTransform(champion.transform, rows).X, rows.length), threshold: champion.threshold };
  return { ...judge({ spec, head: spec.model.head, y: test.y, candidate: probs, candidateThreshold: cand.threshold, champion: championProbs, rows, features: features() }), leftOut };
}

import { evaluationDetailsFromJson } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { formatConsistency } from './consistency-format.js';

describe('refit eval show: individual fairness', () => {
  it('prints both models overall and per group, flagging small groups; nothing when the report has none', () => {
    const scores = (score: number, groups: Array<[string, string, number, number]>) => ({
      score,
      probabilityScore: score + 0.1,
      queries: 214,
      sampled: false,
      groups: groups.map(([sensitive, group, n, s]) => ({ sensitive, group, n, score: s, probabilityScore: s + 0.1, belowMinSize: n < 30 })),
    });
    const lines = formatConsistency(evaluationDetailsFromJson({ consistency: {
      k: 5,
      exclude: ['gender', 'race'],
      dropped: ['gender=female', 'gender=male', 'gender=__other__'],
      dimensions: 17,
      candidate: scores(0.7533, [
        ['gender', 'female', 97, 0.753],
        ['race', 'hispanic', 13, 0.646],
      ]),
      champion: scores(0.814, [['gender', 'female', 97, 0.81]]),
    } }).consistency);
    expect(lines).toEqual([
      'consistency (k=5 nearest neighbours without gender, race (3 feature columns dropped, 17 kept), all 214 test rows): labels 0.7533 / scores 0.8533 (champion 0.8140 / 0.9140)',
      '    gender=female            n    97  labels 0.7530  scores 0.8530  (champion 0.8100)',
      '    race=hispanic            n    13  labels 0.6460  scores 0.7460  (below the minimum group size: not judged)',
    ]);
    expect(formatConsistency(evaluationDetailsFromJson({ consistency: null }).consistency)).toEqual([]);
    expect(formatConsistency(undefined)).toEqual([]);
  });
});

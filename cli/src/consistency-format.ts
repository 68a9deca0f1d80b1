import type { ConsistencyEvaluation } from '@refit/contracts';

// `refit eval show`: the consistency part of an evaluation report (the typed `EvaluationDetails.consistency`).

const f4 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(4));

/** `refit eval show`: the individual-fairness lines (none when the report has no consistency score). */
export function formatConsistency(c: ConsistencyEvaluation | undefined): string[] {
  if (!c?.candidate) return [];
  const space = c.exclude.length ? `without ${c.exclude.join(', ')} (${c.dropped.length} feature columns dropped, ${c.dimensions} kept)` : `on all ${c.dimensions} feature columns`;
  const sample = c.candidate.sampled ? `a sample of ${c.candidate.queries}` : `all ${c.candidate.queries}`;
  const champion = c.champion ? ` (champion ${f4(c.champion.score)} / ${f4(c.champion.probabilityScore)})` : '';
  const lines = [
    `consistency (k=${c.k} nearest neighbours ${space}, ${sample} test rows): labels ${f4(c.candidate.score)} / scores ${f4(c.candidate.probabilityScore)}${champion}`,
  ];
  for (const g of c.candidate.groups) {
    const champ = c.champion?.groups.find((x) => x.sensitive === g.sensitive && x.group === g.group);
    const small = g.belowMinSize ? '  (below the minimum group size: not judged)' : '';
    lines.push(`    ${`${g.sensitive}=${g.group}`.padEnd(24)} n ${String(g.n).padStart(5)}  labels ${f4(g.score)}  scores ${f4(g.probabilityScore)}${champ ? `  (champion ${f4(champ.score)})` : ''}${small}`);
  }
  return lines;
}

import { timestampDate } from '@bufbuild/protobuf/wkt';
import { evaluationDetailsOf, Verdict, type EvaluationReport, type LedgerEntry, type ModelVersion, type VerifyLedgerResponse } from '@refit/contracts';

const f4 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(4));
const METRICS = ['accuracy', 'auc', 'logLoss', 'brier', 'precision', 'recall', 'f1', 'averagePrecision', 'ece'];

/** A metric map, or undefined when the report has none there (an empty map on the wire). */
const metricsOrNone = (m: Record<string, number>): Record<string, number> | undefined => (Object.keys(m).length ? m : undefined);

function metricTable(rows: Array<[string, Record<string, number> | undefined]>, indent = '  '): string[] {
  const present = METRICS.filter((m) => rows.some(([, r]) => r?.[m] !== undefined));
  const head = `${indent}${''.padEnd(18)}${rows.map(([name]) => name.padStart(14)).join('')}`;
  return [head, ...present.map((m) => `${indent}${m.padEnd(18)}${rows.map(([, r]) => f4(r?.[m]).padStart(14)).join('')}`)];
}

/** `refit eval show`: the verdict, one sentence per gate, and the numbers behind them. */
export function formatReport(report: EvaluationReport): string {
  const r = evaluationDetailsOf(report);
  const champion = r.champion ? `champion ${r.champion.version}` : 'no champion';
  const verdict = (Verdict[report.verdict] as string | undefined) ?? '';
  const lines = [`run ${report.runId} (${report.pipeline}): ${verdict.toUpperCase()} on ${report.rowsTest} test rows, ${champion}`];
  if (r.leftOut) lines.push(`  ${r.leftOut.rows} of ${r.leftOut.of} test rows left out: ${r.leftOut.reason}`);
  lines.push('gates:');
  for (const g of r.gates) lines.push(`  - ${g.outcome || (g.passed ? 'pass' : 'fail')}: ${g.reason}`);
  lines.push('metrics (same test rows):', ...metricTable([['candidate', r.candidate?.metrics ?? {}], ...(r.champion ? [[champion, r.champion.metrics] as [string, Record<string, number>]] : [])]));
  for (const s of r.slices) {
    const small = s.belowMinSize ? ' (too small to judge)' : '';
    const champ = metricsOrNone(s.champion);
    lines.push(`slice ${s.column}=${s.value}, ${s.n} rows${small}: accuracy ${f4(s.candidate.accuracy)} / auc ${f4(s.candidate.auc)}${champ ? ` (champion ${f4(champ.accuracy)} / ${f4(champ.auc)})` : ''}`);
  }
  for (const f of r.fairness) {
    lines.push(`fairness by ${f.sensitive}: demographic parity difference ${f4(f.candidate?.demographicParityDifference)}, equalized odds difference ${f4(f.candidate?.equalizedOddsDifference)}${f.champion ? ` (champion ${f4(f.champion.demographicParityDifference)}, ${f4(f.champion.equalizedOddsDifference)})` : ''}`);
    for (const g of f.candidate?.groups ?? []) {
      lines.push(`    ${g.group.padEnd(16)} n ${String(g.n).padStart(5)}  selection ${f4(g.selectionRate)}  tpr ${f4(g.tpr)}  fpr ${f4(g.fpr)}${g.belowMinSize ? '  (below the minimum group size: not judged)' : ''}`);
    }
  }
  const h = r.holdout;
  const hChampion = h && metricsOrNone(h.champion);
  if (h) lines.push(`recent holdout (${h.column} ${h.fromDate} … ${h.toDate}, last ${h.lastDays} days, ${h.n} rows):`, ...metricTable([['candidate', metricsOrNone(h.candidate)], ...(hChampion ? [['champion', hChampion] as [string, Record<string, number>]] : [])], '    '));
  return lines.join('\n');
}

/** `refit models show`: one version with its aliases, verdict, reasons and metrics. */
export function formatModel(m: ModelVersion): string {
  const when = m.createdAt ? timestampDate(m.createdAt).toISOString() : '';
  return [
    `${m.pipeline} ${m.version}${m.aliases.length ? ` [${m.aliases.join(', ')}]` : ''}  run ${m.runId}  registered ${when}`,
    `  trigger: ${m.triggerKind || '—'}${m.triggerReason ? ` (${m.triggerReason})` : ''}`,
    `  promoted by: ${m.promotedBy || 'never promoted by its gates'}`,
    `  metrics: ${Object.entries(m.metrics)
      .sort(([a], [b]) => (METRICS.indexOf(a) + 1 || 99) - (METRICS.indexOf(b) + 1 || 99))
      .map(([k, v]) => `${k} ${f4(v)}`)
      .join(', ')}`,
    '  gates:',
    ...m.reasons.map((r) => `    - ${r}`),
  ].join('\n');
}

/** The validation outcome of one batch of a snapshot (from the ingestion service). */
export type BatchValidation = { batchId: string; sha256: string; status: string; rowsAccepted: number; rowsQuarantined: number; problems: string[] };

/** `refit lineage`: everything a version came from, and every decision about it. */
export function formatLineage(m: ModelVersion, entries: LedgerEntry[], validation?: BatchValidation[], decisionId = ''): string {
  const l = m.lineage;
  const ref = (r?: { key: string; sha256: string }) => (r?.key ? `${r.key} (sha256 ${r.sha256.slice(0, 12)})` : '—');
  const lines = [
    `${m.pipeline} ${m.version}${m.aliases.length ? ` [${m.aliases.join(', ')}]` : ''} from run ${m.runId}`,
    `  trigger decision   ${m.triggerKind || '—'}${m.triggerReason ? `: ${m.triggerReason}` : ''}${decisionId ? ` (decision ${decisionId}: refit triggers explain ${m.pipeline})` : ''}`,
    `  data snapshot      sha256 ${l?.snapshotSha256 || '—'}; batches ${l?.batchIds.join(', ') || '—'}`,
    `                     ${l?.rowsTrain ?? 0} train / ${l?.rowsValidation ?? 0} validation / ${l?.rowsTest ?? 0} test rows`,
    ...(validation === undefined
      ? ['  validation         (the ingestion service could not be asked)']
      : validation.map((b, i) => `${i === 0 ? '  validation         ' : '                     '}batch ${b.batchId}: ${b.status || 'accepted'}, ${b.rowsAccepted} rows accepted, ${b.rowsQuarantined} quarantined${b.problems.length ? ` (${b.problems.join('; ')})` : ''}`)),
    `  transform          ${ref(l?.transform)}`,
    `  training config    ${l?.trainingConfigJson || '—'}`,
    `  seed, backend      ${l?.seed ?? ''}, ${l?.backend || '—'} (${l?.epochs ?? 0} epochs)`,
    `  code version       ${l?.codeVersion || '—'}`,
    `  model              ${ref(l?.model)}`,
    `  evaluation report  ${ref(l?.evaluationReport)}`,
    `  promoted by        ${m.promotedBy || '—'}`,
    'decisions:',
    ...entries.map((e) => `  #${e.seq} ${e.recordedAt}  ${e.kind.padEnd(16)} ${e.summary}`),
  ];
  return lines.join('\n');
}

/** `refit ledger`: the pipeline's decisions, oldest first, with the chain's hashes. */
export function formatLedger(entries: LedgerEntry[]): string {
  if (entries.length === 0) return 'no decisions recorded yet';
  return entries.map((e) => `#${String(e.seq).padEnd(4)} ${e.recordedAt}  ${e.kind.padEnd(16)} ${e.actor.padEnd(28)} ${e.summary}  [${e.hash.slice(0, 12)}]`).join('\n');
}

/**
 * `refit ledger verify`: intact (and how far it is anchored), or the problem found — where the
 * chain breaks, or which entries the newest checkpoint proves are missing — then what the check
 * does not cover.
 */
export function formatVerify(pipeline: string, v: VerifyLedgerResponse): string {
  const lines = [
    v.ok
      ? `ledger of ${pipeline}: intact, ${v.entries} entries, head ${v.headHash}`
      : v.missingFrom > 0n
        ? `ledger of ${pipeline}: BROKEN: ${v.problem}`
        : `ledger of ${pipeline}: BROKEN at entry ${v.firstBadSeq} of ${v.entries}: ${v.problem}`,
  ];
  if (v.ok && v.anchored) {
    lines.push(v.checkpointSeq > 0n ? `  anchored: the MACs check, and the table reaches the checkpoint of entry ${v.checkpointSeq} (taken at ${v.checkpointRecordedAt})` : '  anchored: the MACs check; no checkpoint yet');
  }
  if (v.note) lines.push(`  note: ${v.note}`);
  return lines.join('\n');
}

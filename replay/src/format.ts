import type { ReplayOptions } from './args.js';
import type { ReplayResult } from './engine.js';
import type { PeriodRow, Summary } from './report.js';

const f4 = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(4));
const int = (x: number) => x.toLocaleString('en-US');
const day = (iso: string, periodMs: number) => (periodMs < 86_400_000 ? iso.slice(0, 16) : iso.slice(0, 10));

/** `7d` → "7-day", for the header. */
function periodWords(ms: number): string {
  const days = ms / 86_400_000;
  if (days === 7) return 'weekly';
  if (days === 1) return 'daily';
  return Number.isInteger(days) ? `${days}-day` : `${ms / 3_600_000}-hour`;
}

/** `schedule:start`, `performance:suppress×2`: the period's fired decisions, grouped. */
function firedCell(r: PeriodRow): string {
  const counts = new Map<string, number>();
  for (const d of r.fired) counts.set(`${d.policy}:${d.action}`, (counts.get(`${d.policy}:${d.action}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).join(' ');
}

function servedCell(r: PeriodRow): string {
  const by = Object.keys(r.servedBy).join('+') || (r.rows > 0 ? '—' : '');
  return r.shadow ? `${by} (shadow ${r.shadow})` : by;
}

function notesCell(r: PeriodRow): string {
  const out: string[] = [];
  if (r.unserved > 0) out.push(`${r.unserved} unserved`);
  if (r.invalid > 0) out.push(`${r.invalid} invalid`);
  if (r.batch?.status === 'rejected') out.push(`batch ${r.batch.id} rejected`);
  else if (r.batch && r.batch.quarantined > 0) out.push(`${r.batch.quarantined} quarantined`);
  for (const f of r.failures) out.push(`${f.runId} failed (${f.stage})`);
  if (r.rollout) out.push(r.rollout);
  return out.join('; ');
}

/** Pads the cells of a table to their column's width (numbers right-aligned). */
function table(head: string[], rows: string[][], right: ReadonlySet<number>): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** The per-period table of one replay. */
export function periodTable(r: ReplayResult, opts: Pick<ReplayOptions, 'periodMs'>): string {
  const head = ['period', 'rows', 'served by', 'accuracy', 'log loss', 'auc', 'triggers fired', 'trained', 'promoted', 'rolled back', 'notes'];
  const rows = r.periods.map((p) => [
    day(p.start, opts.periodMs),
    String(p.rows),
    servedCell(p),
    f4(p.accuracy),
    f4(p.logLoss),
    f4(p.auc),
    firedCell(p),
    p.trainings.map((t) => `${t.version} ${t.verdict}`).join(', '),
    p.promotions.map((x) => x.version).join(', '),
    p.rollbacks.map((x) => x.version).join(', '),
    notesCell(p),
  ]);
  return table(head, rows, new Set([1, 3, 4, 5]));
}

/** One line per summary fact. */
export function summaryLines(s: Summary): string[] {
  const fired = Object.entries(s.fired).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const verdicts = Object.entries(s.verdicts).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  return [
    `served quality (weighted by rows): accuracy ${f4(s.accuracy)}, log loss ${f4(s.logLoss)}, AUC ${f4(s.auc)} on ${int(s.served)} answered rows (${int(s.unserved)} arrived with no model serving, ${int(s.invalid)} failed the row checks)`,
    `data: ${int(s.rows)} rows in ${s.periods} periods; ingestion quarantined ${int(s.quarantined)} rows and rejected ${s.rejectedBatches} batches`,
    `triggers fired ${Object.values(s.fired).reduce((a, b) => a + b, 0)} (${fired}); runs ${s.runs}, trainings ${s.trainings} (gates: ${verdicts}), ${s.failedRuns} failed runs`,
    `promotions ${s.promotions}, rollbacks ${s.rollbacks}; champion at the end: ${s.champion ?? 'none'}`,
    `training compute: ${int(s.epochs)} epochs over ${int(s.rowEpochs)} row-epochs${s.trainingMs === undefined ? '' : `, ${(s.trainingMs / 1000).toFixed(1)} s of tensor time`}`,
  ];
}

/** The whole text report of one replay: header, table, summary and notes. */
export function formatResult(file: string, r: ReplayResult, opts: ReplayOptions): string {
  const periods = r.periods.length;
  // Spans are half-open: name the last instant inside them.
  const last = (iso: string) => new Date(Date.parse(iso) - 1).toISOString().slice(0, opts.periodMs < 86_400_000 ? 16 : 10);
  const first = (iso: string) => iso.slice(0, opts.periodMs < 86_400_000 ? 16 : 10);
  const head = [
    `${r.pipeline} (${file}): bootstrap ${first(r.span.from)} – ${last(r.span.bootstrapEnd)}, ${int(r.bootstrap.rows)} rows${r.bootstrap.quarantined ? ` (${int(r.bootstrap.quarantined)} quarantined)` : ''} → ${r.bootstrap.version ? `${r.bootstrap.version} ${r.bootstrap.verdict}` : 'no model'}`,
    `then ${periods} ${periodWords(opts.periodMs)} periods, ${first(r.span.bootstrapEnd)} – ${last(r.span.until)}; labels back ${opts.labelDelay === 0 ? 'at the end of their period' : `${opts.labelDelay} period(s) later`}; a run takes ${opts.runMinutes} min`,
  ];
  const notes = r.notes.map((n) => `note: ${n}`);
  return [...head, '', periodTable(r, opts), '', ...summaryLines(r.summary).map((l) => `summary: ${l}`), ...notes].join('\n');
}

/** Two replays' summaries side by side. */
export function formatComparison(files: readonly string[], results: readonly ReplayResult[]): string {
  const s = results.map((r) => r.summary);
  const fired = (x: Summary) => Object.values(x.fired).reduce((a, b) => a + b, 0);
  const rows: Array<[string, (x: Summary) => string]> = [
    ['served accuracy', (x) => f4(x.accuracy)],
    ['served log loss', (x) => f4(x.logLoss)],
    ['served AUC', (x) => f4(x.auc)],
    ['rows answered', (x) => int(x.served)],
    ['rows with no model', (x) => int(x.unserved)],
    ['rows quarantined', (x) => int(x.quarantined)],
    ['triggers fired', (x) => String(fired(x))],
    ['  started a run', (x) => String(x.fired.start ?? 0)],
    ['  deferred by the cool-down', (x) => String(x.fired.defer ?? 0)],
    ['  joined or queued behind a run', (x) => String((x.fired.coalesce ?? 0) + (x.fired.queue ?? 0))],
    ['  suppressed (debounce, budget)', (x) => String(x.fired.suppress ?? 0)],
    ['runs', (x) => String(x.runs)],
    ['trainings', (x) => String(x.trainings)],
    ['gate passes', (x) => String(x.verdicts.pass ?? 0)],
    ['promotions', (x) => String(x.promotions)],
    ['rollbacks', (x) => String(x.rollbacks)],
    ['failed runs', (x) => String(x.failedRuns)],
    ['training epochs', (x) => int(x.epochs)],
    ['training row-epochs', (x) => int(x.rowEpochs)],
    ...(s.every((x) => x.trainingMs !== undefined) ? [['training time (s)', (x: Summary) => ((x.trainingMs as number) / 1000).toFixed(1)] as [string, (x: Summary) => string]] : []),
    ['champion at the end', (x) => x.champion ?? 'none'],
  ];
  return table(['', ...files], rows.map(([name, f]) => [name, ...s.map(f)]), new Set(files.map((_, i) => i + 1)));
}

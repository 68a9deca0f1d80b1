import type { BacktestReport, BacktestWindow } from '@refit/contracts';

// `refit eval show`: the backtest part of an evaluation report (the typed `EvaluationDetails.backtest`).

const f4 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(4));
const s4 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);

function verdictOf(w: BacktestWindow): string {
  if (!w.judged) return w.comparison ? 'not judged (no comparison possible)' : 'not judged (too few rows)';
  if (w.notWorse === undefined) return '';
  return w.notWorse ? 'not worse' : 'WORSE';
}

/** `refit eval show`: the backtest's per-window table (both models' metric, gain and interval), then the pooled comparison. */
export function formatBacktest(b: BacktestReport | undefined): string[] {
  if (!b) return [];
  const title = `backtest (${b.column}, ${b.windows.length} windows of ${b.days} days, ${b.metric}, margin ${f4(b.margin)}; under ${b.minRows} rows a window is not judged):`;
  if (b.missing) return [title, `  ${b.missing}`];
  const head = `  ${'from'.padEnd(12)}${'to'.padEnd(12)}${'rows'.padStart(6)}${'excl'.padStart(6)}${'candidate'.padStart(11)}${'champion'.padStart(11)}${'gain'.padStart(9)}  ${'95% CI'.padEnd(20)}  verdict`;
  const rows = b.windows.map((w) => {
    const c = w.comparison;
    const ci = c?.interval ? `[${s4(c.interval.lower)}, ${s4(c.interval.upper)}]` : '';
    const cand = w.candidate?.[b.metric];
    const champ = w.champion?.[b.metric];
    return `  ${w.fromDate.padEnd(12)}${w.toDate.padEnd(12)}${String(w.rows).padStart(6)}${String(w.excluded).padStart(6)}${f4(cand).padStart(11)}${f4(champ).padStart(11)}${s4(c?.gain).padStart(9)}  ${ci.padEnd(20)}  ${verdictOf(w)}`.trimEnd();
  });
  const p = b.pooled;
  const pooled = p?.interval ? [`  pooled over ${p.n} rows of the judged windows: ${b.metric} ${f4(p.candidate)} vs ${f4(p.champion)}, gain ${s4(p.gain)}, 95% CI [${s4(p.interval.lower)}, ${s4(p.interval.upper)}], p=${p.pValue === undefined ? '—' : p.pValue.toPrecision(2)} (${p.method})`] : [];
  return [title, head, ...rows, ...pooled];
}

import type { TrainingProgress, Trial } from '@refit/contracts';

const num = (x: number | undefined, digits = 4): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

/** The trials of a search as a table, the chosen one marked with `*`. */
export function formatTrials(trials: Trial[]): string {
  if (trials.length === 0) return '';
  const lines = ['  trials:', '      #  rung  status         epochs  best  val loss      ms  params'];
  for (const t of trials) {
    lines.push(
      `    ${t.best ? '*' : ' '}${String(t.trial).padStart(2)}  ${String(t.rung).padStart(4)}  ${t.status.padEnd(13)}  ${String(t.epochs).padStart(6)}  ${String(t.bestEpoch).padStart(4)}  ` +
        `${num(t.score).padStart(8)}  ${String(t.durationMs).padStart(6)}  ${t.paramsJson}`,
    );
  }
  return lines.join('\n');
}

/** One line with a progress bar for a run's training, e.g. `training ████░░░░ trial 3/20 epoch 12/30 loss 0.4812`. */
export function formatProgress(p: TrainingProgress, width = 24): string {
  // Whole trials done plus the share of the current one.
  const trials = Math.max(1, p.trials);
  const share = p.done ? 1 : Math.min(1, (p.trial + (p.epochs > 0 ? p.epoch / p.epochs : 0)) / trials);
  const filled = Math.round(share * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const trial = trials > 1 ? ` trial ${p.trial + 1}/${trials}${p.rung > 0 ? ` (rung ${p.rung})` : ''}` : '';
  const val = p.valLoss !== undefined ? ` val ${num(p.valLoss)}` : '';
  return `  training ${bar} ${String(Math.round(share * 100)).padStart(3)}%${trial} epoch ${p.epoch}/${p.epochs} loss ${num(p.loss)}${val}${p.done ? ' done' : ''}`;
}

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

/** A progress line that a terminal redraws in place, with ordinary lines printed around it. */
export type StatusLine = {
  /** Shows `line` as the current progress (redrawn in place on a terminal, a new plain line elsewhere). */
  update(line: string): void;
  /** Prints a permanent line (a finished stage) without losing the progress line. */
  print(line: string): void;
  /** Leaves the last progress line on screen and moves below it. */
  end(): void;
};

// Carriage return, then "erase the whole line" (ECMA-48 EL 2).
const REDRAW = '\r\x1b[2K';

/**
 * A {@link StatusLine} over a raw writer (no newline added). On a TTY each update redraws one line
 * in place (`\r`); elsewhere (a pipe, a CI log) every update is a plain line, so logs stay readable.
 */
export function createStatusLine(write: (s: string) => void, tty: boolean): StatusLine {
  let open = false;
  let last = '';
  return {
    update(line) {
      if (line === last) return;
      last = line;
      if (!tty) return write(`${line}\n`);
      write(`${REDRAW}${line}`);
      open = true;
    },
    print(line) {
      if (open) write(REDRAW);
      write(`${line}\n`);
      // The progress line comes back under the permanent one.
      if (open) write(last);
    },
    end() {
      if (open) write('\n');
      open = false;
    },
  };
}

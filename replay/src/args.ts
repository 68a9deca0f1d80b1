import { Command, Option } from 'commander';

/** A problem with what the replay was asked to do (an argument, a spec, a data file): exit code 2. */
export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
}

/** One hour in ms. */
export const HOUR_MS = 3_600_000;
/** One day in ms. */
export const DAY_MS = 86_400_000;

/** How a history is replayed. */
export type ReplayOptions = {
  /** Length of a period (a row of the table; when labels and data come back), ms. Default 7 days. */
  periodMs: number;
  /** Rows before this instant are left out (ms). Default: the first row's day, 00:00 UTC. */
  from?: number;
  /** Rows at or after this instant are left out (ms). Default: none. */
  until?: number;
  /** Periods after its own that a period's labels (and its rows, as a batch) come back. Default 0: at its end. */
  labelDelay: number;
  /**
   * History before the replay's first period (ms from `from`): pushed as one batch, and the first
   * model is trained on it (a manual run) before the first period is served. Default 90 days.
   */
  bootstrapMs: number;
  /** Virtual time from a run's start to its model's evaluation, minutes. Default 10. */
  runMinutes: number;
  /** JSON on stdout instead of tables. Default false. */
  json: boolean;
  /** Add measured wall-clock training times (the only numbers that differ between two runs). Default false. */
  timings: boolean;
  /**
   * The feature service's live-drift settings (its REFIT_DRIFT_MIN_SAMPLES and REFIT_DRIFT_PSI):
   * fewest rows of a window per column, and the PSI at which a column drifts. Default 50 and 0.25.
   */
  drift: { minSamples: number; psiThreshold: number };
};

/** One `refit replay` invocation: the specs to compare, the data files and the options. */
export type Invocation = { specs: string[]; data: string[]; options: ReplayOptions };

/** Defaults of {@link ReplayOptions}. */
export const DEFAULT_OPTIONS: Readonly<ReplayOptions> = Object.freeze({
  periodMs: 7 * DAY_MS,
  labelDelay: 0,
  bootstrapMs: 90 * DAY_MS,
  runMinutes: 10,
  json: false,
  timings: false,
  drift: { minSamples: 50, psiThreshold: 0.25 },
});

/** `7d`, `1d`, `30d`, `12h`, `90m` in ms (at least a minute). */
export function parseDuration(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([dhm])$/.exec(v.trim());
  const ms = m ? Number(m[1]) * { d: DAY_MS, h: HOUR_MS, m: 60_000 }[m[2] as 'd' | 'h' | 'm'] : NaN;
  if (!(ms >= 60_000)) throw new ReplayInputError(`${what} '${v}': give a duration such as 7d, 1d, 30d or 12h`);
  return ms;
}

/** `2013-01-01` (00:00 UTC) or an ISO instant, in ms. */
export function parseInstant(v: string, what: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v.trim()) ? `${v.trim()}T00:00:00Z` : v.trim());
  if (!Number.isFinite(ms)) throw new ReplayInputError(`${what} '${v}': give a date such as 2013-01-01 or an ISO time`);
  return ms;
}

function wholeNumber(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ReplayInputError(`${what} '${v}': give a whole number ≥ 0`);
  return n;
}

type Raw = {
  data?: string[];
  compare?: string;
  period: string;
  from?: string;
  until?: string;
  labelDelay: string;
  bootstrap: string;
  runMinutes: string;
  driftMinSamples: string;
  driftPsi: string;
  json?: boolean;
  timings?: boolean;
};

/** The invocation the parsed arguments describe. */
export function toInvocation(specs: string[], o: Raw): Invocation {
  const all = [...specs, ...(o.compare ? [o.compare] : [])];
  if (all.length < 1 || all.length > 2) throw new ReplayInputError(`give one spec, or two to compare (got ${all.length}): refit replay a.yaml [b.yaml] --data file.csv`);
  if (!o.data || o.data.length === 0) throw new ReplayInputError('give the history to replay with --data <file.csv|file.jsonl>…');
  const bad = o.data.filter((f) => !/\.(csv|jsonl|ndjson)$/i.test(f));
  if (bad.length > 0) throw new ReplayInputError(`--data ${bad.join(', ')}: a .csv or .jsonl file`);
  const from = o.from === undefined ? undefined : parseInstant(o.from, '--from');
  const until = o.until === undefined ? undefined : parseInstant(o.until, '--until');
  if (from !== undefined && until !== undefined && until <= from) throw new ReplayInputError(`--until ${o.until} is not after --from ${o.from}`);
  const minSamples = Number(o.driftMinSamples);
  if (!Number.isInteger(minSamples) || minSamples < 1) throw new ReplayInputError(`--drift-min-samples '${o.driftMinSamples}': give a whole number ≥ 1`);
  const psiThreshold = Number(o.driftPsi);
  if (!(psiThreshold > 0) || !Number.isFinite(psiThreshold)) throw new ReplayInputError(`--drift-psi '${o.driftPsi}': give a positive number`);
  const runMinutes = Number(o.runMinutes);
  if (!(runMinutes >= 0) || !Number.isFinite(runMinutes)) throw new ReplayInputError(`--run-minutes '${o.runMinutes}': give a number of minutes ≥ 0`);
  return {
    specs: all,
    data: o.data,
    options: {
      periodMs: parseDuration(o.period, '--period'),
      from,
      until,
      labelDelay: wholeNumber(o.labelDelay, '--label-delay'),
      bootstrapMs: parseDuration(o.bootstrap, '--bootstrap'),
      runMinutes,
      json: o.json ?? false,
      timings: o.timings ?? false,
      drift: { minSamples, psiThreshold },
    },
  };
}

/** The `replay` command line; `run` gets the invocation once the arguments are read. */
export function replayCommand(run: (inv: Invocation) => Promise<void>): Command {
  return new Command('replay')
    .description(
      "replay a history through Refit's trigger, gate and rollout logic on a virtual clock: per period the served quality, trainings, promotions and rollbacks; with two specs, both and side by side",
    )
    .argument('<spec...>', 'the pipeline spec (YAML) to replay; a second one is compared with it')
    .addOption(new Option('--data <files...>', 'the history: CSV or JSON-lines files with the spec\'s columns (rows ordered by schema.timestamp)'))
    .option('--compare <spec>', 'a second spec to compare with the first (same as giving it as a second argument)')
    .option('--period <duration>', 'length of a period: 1d, 7d, 30d…', '7d')
    .option('--from <date>', 'leave out rows before this date (default: the first row)')
    .option('--until <date>', 'leave out rows from this date on')
    .option('--label-delay <periods>', "periods after its own that a period's labels and rows come back", '0')
    .option('--bootstrap <duration>', 'history before the first period: pushed as one batch, the first model trained on it', '90d')
    .option('--run-minutes <minutes>', 'virtual time from a run\'s start to its evaluation', '10')
    .option('--drift-min-samples <n>', "the feature service's REFIT_DRIFT_MIN_SAMPLES: fewest rows of a monitoring window (a period) for live drift", '50')
    .option('--drift-psi <psi>', "the feature service's REFIT_DRIFT_PSI: the PSI at which a served feature drifts", '0.25')
    .option('--json', 'JSON on stdout')
    .option('--timings', 'add measured training times (they differ from run to run)')
    .action(async (specs: string[], o: Raw) => run(toInvocation(specs, o)));
}

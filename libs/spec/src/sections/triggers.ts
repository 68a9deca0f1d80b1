import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { businessMetricName } from './business-names.js';

const cron = z.string().superRefine((expr, ctx) => {
  try {
    CronExpressionParser.parse(expr);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a valid cron expression: ${(e as Error).message}` });
  }
});

const timezone = z.string().superRefine((tz, ctx) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    ctx.addIssue({ code: 'custom', message: `unknown time zone '${tz}' (use an IANA name such as Europe/Paris or UTC)` });
  }
});

/** A person or tool starts a run (CLI, gRPC) with a reason. Always allowed; listed for clarity. */
const manual = z.strictObject({ kind: z.literal('manual') });

/** Cron schedule in a time zone; `catchUp` says what a slot missed while down does. */
const schedule = z.strictObject({
  kind: z.literal('schedule'),
  cron,
  /** IANA time zone of the cron expression. Default UTC. */
  timezone: timezone.default('UTC'),
  /** latest: a missed slot fires once on restart; all: each missed slot is decided (hygiene coalesces); none: skipped, recorded. Default latest. */
  catchUp: z.enum(['latest', 'all', 'none']).default('latest'),
});

/** New-data volume since the last training: absolute rows and/or a share of the last training set. */
const volume = z
  .strictObject({
    kind: z.literal('volume'),
    minRows: z.number().int().positive().optional(),
    /** Share of the rows the last run trained on (e.g. 0.25 = 25 % new data). */
    minShare: z.number().positive().optional(),
  })
  .refine((v) => v.minRows !== undefined || v.minShare !== undefined, 'needs minRows or minShare');

/** Maximum model age: retrain when the last training is older than this. */
const age = z.strictObject({ kind: z.literal('age'), maxAgeHours: z.number().positive() });

/** Runs requested by other systems on NATS (`<prefix>.external.retrain`), from the listed sources only. */
const external = z.strictObject({
  kind: z.literal('external'),
  /** Sources allowed to request a retrain (the `source` field of the event). */
  sources: z.array(z.string().min(1)).min(1, 'list at least one allowed source'),
});

/** Metrics whose values lie in [0, 1]: a declared reference outside is a mistake. */
const UNIT_METRICS: ReadonlySet<string> = new Set(['accuracy', 'auc', 'brier']);

/**
 * What a performance policy compares live quality with: `live` (default) — the model's own
 * labelled windows after it starts serving, until `minLabeled` labelled predictions (a
 * warm-up); `evaluation` — the served model's metric on its test split (in-distribution, so a
 * later period rarely reaches it); `{ value: 0.8 }` — a declared value.
 */
const performanceReference = z.union([z.enum(['live', 'evaluation']), z.strictObject({ value: z.number().finite() })], {
  error: 'expected live, evaluation or { value: <number> }',
});

/**
 * Live quality from feedback (the deployer's monitoring windows) against a reference, by an
 * always-valid sequential test (libs/ml `twoSampleSequential` / `oneSampleSequential`): every
 * window after the reference adds its labelled rows to the test, which fires when live quality
 * is worse than the reference by more than `maxDrop` at level `alpha` — however many windows
 * it has looked at.
 */
const performance = z
  .strictObject({
    kind: z.literal('performance'),
    /** Metric of the monitoring window to watch: a built-in one or a count-based business metric (`business.metrics`). Default accuracy. */
    metric: z.union([z.enum(['accuracy', 'auc', 'logLoss', 'brier']), businessMetricName]).default('accuracy'),
    /** Fire when live quality is worse than the reference by more than this (the test's margin), in the metric's units. */
    maxDrop: z.number().positive(),
    /**
     * Labelled predictions of the warm-up that makes a `live` reference (with `evaluation` or a
     * declared value: labelled predictions before the first test). Default 500.
     */
    minLabeled: z.number().int().positive().default(500),
    /** What live quality is compared with: `live` (default), `evaluation`, or `{ value: … }`. */
    reference: performanceReference.default('live'),
    /** Level of the sequential test: the chance of a false alarm over all windows of a version. Default 0.05. */
    alpha: z.number().gt(0).lt(0.5).default(0.05),
  })
  .superRefine((p, ctx) => {
    if (typeof p.reference !== 'object') return;
    const v = p.reference.value;
    if (UNIT_METRICS.has(p.metric) && (v < 0 || v > 1)) ctx.addIssue({ code: 'custom', path: ['reference', 'value'], message: `${v} is not a possible ${p.metric}: it lies between 0 and 1` });
    if (p.metric === 'logLoss' && v < 0) ctx.addIssue({ code: 'custom', path: ['reference', 'value'], message: `${v} is not a possible logLoss: it is at least 0` });
  });

/**
 * Data drift of live feature windows (the deployer's served rows) against the training data of
 * the served model, measured by the feature service: fires when the share of drifted features
 * reaches `maxShare` or a listed feature's PSI exceeds its limit, on windows of `minSamples` rows.
 */
const drift = z
  .strictObject({
    kind: z.literal('drift'),
    /** Fire when at least this share of the compared features drifted (PSI over the feature service's limit). */
    maxShare: z.number().gt(0).max(1).optional(),
    /** Per-feature limits: fire when the feature's PSI exceeds `psi`. */
    features: z.record(z.string().min(1), z.strictObject({ psi: z.number().positive().optional() })).optional(),
    /** Fewest rows in a window for it to count: small windows inflate PSI by sampling noise alone. Default 200. */
    minSamples: z.number().int().positive().default(200),
  })
  .refine((d) => d.maxShare !== undefined || Object.values(d.features ?? {}).some((f) => f.psi !== undefined), {
    message: 'needs maxShare or a psi limit under features',
    path: ['maxShare'],
  });

/**
 * Online learning on a stream (`continuous.online`): a learner starts from the champion's weights
 * and takes one bounded Adam step per labelled micro-batch; it is judged prequentially against the
 * champion on the same rows (each row scored before it is learned from) by an anytime-valid test,
 * and replaces the champion only when shown better. The transform stays frozen between batch runs.
 */
const online = z.strictObject({
  /** Base Adam learning rate of the online updates. Default 0.05. */
  learningRate: z.number().positive().max(10).default(0.05),
  /** Labelled rows over which the learning rate falls: lr = learningRate / √(1 + rowsLearned / decayRows). Default 2000. */
  decayRows: z.number().positive().max(1e9).default(2000),
  /** Largest change of the weights in one update (L2 norm over all of them). Default 1. */
  maxStep: z.number().positive().max(100).default(1),
  /** L2 penalty on the kernels in the online loss. Default 0. */
  l2: z.number().min(0).max(10).default(0),
  /** Labelled rows per update. Default 64. */
  microBatch: z.number().int().positive().max(100_000).default(64),
  /** Level of the prequential tests (promotion, and each reset window). Default 0.05. */
  alpha: z.number().gt(0).lt(0.5).default(0.05),
  /** Skill over the base rate (loss units per row) below which the labels count as carrying no signal: the learner is reset. Default 0.01. */
  skillMargin: z.number().min(0).max(1).default(0.01),
  /** Rows of a window of the reset test, which restarts every window. At least 30 (a test needs that many rows). Default 200. */
  resetWindow: z.number().int().min(30).max(1_000_000).default(200),
  /**
   * At most one replacement of the champion per this many hours of stream time — the rows' event
   * time, not the wall clock, so a replay is judged as it would be live. 0: as often as the
   * evidence allows. Default 24.
   */
  minIntervalHours: z.number().min(0).max(24 * 366).default(24),
  /**
   * Limit of the frozen transform's input drift on the learned rows — the largest standardized
   * mean shift |mean − fitted mean| / fitted std over the standardized inputs — above which the
   * learner asks for a full batch run (which refits the transform). Default 1.
   */
  driftLimit: z.number().positive().max(100).default(1),
});

/**
 * Continuous retraining. Without `online`: every new batch starts a run that warm-starts from the
 * champion's weights. With `online`: the model learns from a stream as labels arrive (see above).
 */
const continuous = z.strictObject({ kind: z.literal('continuous'), online: online.optional() });

/** A business metric reported by another system on `<prefix>.external.metric`, against limits. */
const business = z
  .strictObject({
    kind: z.literal('business'),
    /** The reported metric's name. */
    metric: z.string().min(1),
    /** Sources allowed to report it. */
    sources: z.array(z.string().min(1)).min(1, 'list at least one allowed source'),
    /** Fire when the value is below this. */
    below: z.number().optional(),
    /** Fire when the value is above this. */
    above: z.number().optional(),
  })
  .refine((b) => b.below !== undefined || b.above !== undefined, 'needs below or above');

/** One trigger policy. */
export const triggerSchema = z.discriminatedUnion('kind', [manual, schedule, volume, age, external, performance, drift, continuous, business]);

/** `triggers:` — when to retrain; several policies may be active at once. */
export const triggersSection = z.array(triggerSchema).default([{ kind: 'manual' }]);

/** `hygiene:` — rules that keep triggers from retraining too often. */
export const hygieneSection = z.strictObject({
  /** A condition must hold for this many consecutive evaluations before it fires. Default 1. */
  debounce: z.number().int().positive().default(1),
  /**
   * No automatic run within this many minutes after the previous run ended: a trigger during the
   * cool-down is deferred to its end (one run then, whatever fired meanwhile), not dropped. Default 0.
   */
  cooldownMinutes: z.number().min(0).default(0),
  /** At most this many runs per pipeline in any 24 hours (manual runs included). Default 24. */
  maxRunsPerDay: z.number().int().positive().default(24),
  /** A trigger while a run is in flight: coalesce into it (default) or queue one run for after it. */
  whenBusy: z.enum(['coalesce', 'queue']).default('coalesce'),
  /**
   * A trigger while the run in flight is in its rollout (its candidate passed its gates and is
   * being rolled out): `queue` (default) one run to start as soon as the rollout ends, whatever
   * `whenBusy` says — new data never joins a run whose training is over; or `supersede`: start a
   * run now, whose candidate, if it passes, replaces the one in rollout.
   */
  duringRollout: z.enum(['queue', 'supersede']).default('queue'),
});

/** Defaults of `hygiene:` when it is left out. */
export const HYGIENE_DEFAULTS = { debounce: 1, cooldownMinutes: 0, maxRunsPerDay: 24, whenBusy: 'coalesce', duringRollout: 'queue' } as const;

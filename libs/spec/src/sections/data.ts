import { z } from 'zod';

const split = z
  .strictObject({
    train: z.number().positive().default(0.7),
    validation: z.number().min(0).default(0.15),
    test: z.number().positive().default(0.15),
    seed: z.number().int().default(7),
    /** `random` (seeded) or `time` (oldest rows train, newest test; needs schema.timestamp). Default random. */
    by: z.enum(['random', 'time']).optional(),
  })
  .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, 'train + validation + test must add up to 1');

/** A time window on schema.timestamp: ISO bounds (`since` inclusive, `until` exclusive) or the last N days of the data. */
const timeWindow = z
  .strictObject({
    since: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
    until: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
    lastDays: z.number().positive().optional(),
  })
  .refine((w) => w.since !== undefined || w.until !== undefined || w.lastDays !== undefined, 'give since, until or lastDays');

/** Longest stream subject, in characters. */
const MAX_SUBJECT_CHARS = 256;
/** A NATS subject without wildcards: dot-separated tokens without white space, `*` or `>` (control characters are refused in every spec string). */
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/u;

/** A subject a stream source reads: a concrete NATS subject outside Refit's own `refit.` events. */
const streamSubject = z
  .string()
  .max(MAX_SUBJECT_CHARS, `must be at most ${MAX_SUBJECT_CHARS} characters`)
  .regex(SUBJECT, 'must be a NATS subject without wildcards: dot-separated tokens without spaces, * or >')
  .refine((s) => s !== 'refit' && !s.startsWith('refit.'), "must not be under Refit's own event subjects (refit.)");

/**
 * `data.source.stream:` — rows and labels published on JetStream subjects, validated as pushed
 * rows are and persisted in numbered segments (see proto/refit/events/v1/stream.proto for the
 * message forms).
 */
const streamSource = z
  .strictObject({
    /** The subject rows are published on (no wildcards, at most 256 characters, not under `refit.`). Required. */
    subject: streamSubject,
    /** The subject labels are published on. Default `<subject>.labels`. */
    labels: streamSubject.optional(),
    /**
     * A schema column whose value is the row's id when a row has no `id` field (e.g. a business
     * key). Default none: every row carries `id`.
     */
    idColumn: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters').optional(),
    /** When a segment of accepted rows is closed and persisted: whichever of the two comes first. */
    segment: z
      .strictObject({
        /** Most rows in one segment: 1 to 1,000,000. Default 10000. */
        maxRows: z.number().int().min(1).max(1_000_000).default(10_000),
        /** Most seconds a segment stays open: 0.1 to 3600. Default 1. */
        maxSeconds: z.number().min(0.1).max(3600).default(1),
      })
      .default({ maxRows: 10_000, maxSeconds: 1 }),
    /** Hours a row waits for its label before it expires unlabeled (counted): 1/60 (a minute) to 8760 (a year). Default 720 (30 days). */
    labelWaitHours: z.number().min(1 / 60).max(8760).default(720),
  })
  // Resolved here so every reader (ingestion, the learner) sees the same subject.
  .transform((s) => ({ ...s, labels: s.labels ?? `${s.subject}.labels` }))
  .refine((s) => s.labels !== s.subject, { message: 'labels must be another subject than subject', path: ['labels'] })
  .refine((s) => s.labels.length <= MAX_SUBJECT_CHARS, { message: `labels (default <subject>.labels) must be at most ${MAX_SUBJECT_CHARS} characters`, path: ['labels'] });

/** `data.source:` — where rows come from besides pushes and imports. */
const sourceSection = z.strictObject({
  /** A JetStream subject rows (and, on a second subject, labels) are published on. Default none. */
  stream: streamSource.optional(),
});

/** `data:` — the training window and the split. */
export const dataSection = z.strictObject({
  /** Which accepted rows make the training window: all, the latest N batches, the latest N rows, or a time window. Default all. */
  window: z
    .union([
      z.literal('all'),
      z.strictObject({ lastBatches: z.number().int().positive() }),
      z.strictObject({ lastRows: z.number().int().positive() }),
      z.strictObject({ time: timeWindow }),
    ])
    .default('all'),
  split: split.default({ train: 0.7, validation: 0.15, test: 0.15, seed: 7 }),
  /**
   * Sources besides pushed and imported batches: `feedback` — labeled predictions (the row the
   * deployer was asked to score, with the label sent back as feedback) become training rows, taken
   * in as batches of their own when a run builds its snapshot; with `schema.entity`, a pushed row
   * of the same entity wins. Default none.
   */
  include: z.array(z.literal('feedback')).default([]),
  /** Sources read continuously (`stream`). Default none. */
  source: sourceSection.optional(),
});

/** Defaults of `data:` when it is left out. */
export const DATA_DEFAULTS = { window: 'all' as const, split: { train: 0.7, validation: 0.15, test: 0.15, seed: 7 }, include: [] as 'feedback'[] };

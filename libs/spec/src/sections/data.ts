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
});

/** Defaults of `data:` when it is left out. */
export const DATA_DEFAULTS = { window: 'all' as const, split: { train: 0.7, validation: 0.15, test: 0.15, seed: 7 }, include: [] as 'feedback'[] };

import { z } from 'zod';

const split = z
  .strictObject({
    train: z.number().positive().default(0.7),
    validation: z.number().min(0).default(0.15),
    test: z.number().positive().default(0.15),
    seed: z.number().int().default(7),
  })
  .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, 'train + validation + test must add up to 1');

/** `data:` — the training window and the split. */
export const dataSection = z.strictObject({
  /** Which accepted batches make the training window: all of them, or the latest N. */
  window: z.union([z.literal('all'), z.strictObject({ lastBatches: z.number().int().positive() })]).default('all'),
  split: split.default({ train: 0.7, validation: 0.15, test: 0.15, seed: 7 }),
});

/** Defaults of `data:` when it is left out. */
export const DATA_DEFAULTS = { window: 'all', split: { train: 0.7, validation: 0.15, test: 0.15, seed: 7 } } as const;

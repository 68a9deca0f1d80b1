import { z } from 'zod';

/** `model:` — what to train and how. */
export const modelSection = z.strictObject({
  kind: z.enum(['logistic', 'mlp']).default('logistic'),
  hidden: z.array(z.number().int().positive()).optional(),
  activation: z.enum(['relu', 'tanh']).optional(),
  epochs: z.number().int().positive().max(10_000).default(50),
  batchSize: z.number().int().positive().default(64),
  learningRate: z.number().positive().optional(),
  l2: z.number().min(0).optional(),
  seed: z.number().int().default(42),
});

/** Defaults of `model:` when it is left out. */
export const MODEL_DEFAULTS = { kind: 'logistic', epochs: 50, batchSize: 64, seed: 42 } as const;

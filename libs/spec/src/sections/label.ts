import { z } from 'zod';
import { columnName } from './common.js';

const positive = z
  .strictObject({
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    eq: z.union([z.string(), z.number(), z.boolean()]).optional(),
    in: z.array(z.union([z.string(), z.number()])).optional(),
  })
  .refine((p) => Object.values(p).filter((v) => v !== undefined).length === 1, 'must have exactly one of gt, gte, lt, eq, in');

/** `label:` — the column to predict and, for a derived binary label, the rule for a positive. */
export const labelSection = z.strictObject({ column: columnName, positive: positive.optional() });

import { z } from 'zod';
import { columnName } from './common.js';

/** How a missing value is filled (fitted on the training split). Default: mean for numbers, the `__other__` slot for categories. */
const impute = z
  .strictObject({
    strategy: z.enum(['mean', 'median', 'mode', 'constant']),
    /** The fill of `constant`. */
    value: z.union([z.number(), z.string()]).optional(),
  })
  .refine((i) => i.strategy !== 'constant' || i.value !== undefined, 'constant needs a value');

/** One input feature and its transform (see `@refit/modeling` FeatureSpec for what each does). */
export const featureSchema = z.strictObject({
  name: columnName,
  type: z.enum(['number', 'category', 'date']),
  /** Default: standardize (number), onehot (category), dateparts (date). */
  transform: z.enum(['standardize', 'minmax', 'log1p', 'bucketize', 'onehot', 'hash', 'dateparts', 'none']).optional(),
  /** Bounds applied to a raw number before fitting and applying. */
  clip: z.strictObject({ min: z.number().optional(), max: z.number().optional() }).optional(),
  impute: impute.optional(),
  /** Adds a 0/1 `<name>:missing` column. Default false. */
  missingIndicator: z.boolean().optional(),
  /** Interval boundaries of `bucketize`, strictly increasing. */
  boundaries: z.array(z.number()).min(1).optional(),
  /** `onehot`: keep the K most frequent training categories, the rest go to `__other__`. Default: all. */
  topK: z.number().int().positive().optional(),
  /** `hash`: number of slots. Default 32. */
  buckets: z.number().int().positive().max(4096).optional(),
  /** `dateparts`: which parts. Default hour, dayOfWeek, month. */
  parts: z.array(z.enum(['hour', 'dayOfWeek', 'month'])).min(1).optional(),
});

const ALLOWED: Record<'number' | 'category' | 'date', readonly string[]> = {
  number: ['standardize', 'minmax', 'log1p', 'bucketize', 'onehot', 'none'],
  category: ['onehot', 'hash'],
  date: ['dateparts'],
};

/** `features:` — the model's inputs. */
export const featuresSection = z
  .array(featureSchema)
  .min(1, 'must declare at least one feature')
  .superRefine((features, ctx) => {
    features.forEach((f, i) => {
      if (f.transform && !ALLOWED[f.type].includes(f.transform)) {
        ctx.addIssue({ code: 'custom', path: [i, 'transform'], message: `a ${f.type} feature can use ${ALLOWED[f.type].join(', ')}, not ${f.transform}` });
      }
      if (f.transform === 'bucketize' && !f.boundaries) ctx.addIssue({ code: 'custom', path: [i, 'boundaries'], message: 'bucketize needs boundaries' });
      if (f.boundaries?.some((b, k) => k > 0 && b <= (f.boundaries as number[])[k - 1])) {
        ctx.addIssue({ code: 'custom', path: [i, 'boundaries'], message: 'must be strictly increasing' });
      }
      if (f.clip?.min !== undefined && f.clip.max !== undefined && f.clip.min > f.clip.max) {
        ctx.addIssue({ code: 'custom', path: [i, 'clip'], message: 'min must not exceed max' });
      }
    });
  });

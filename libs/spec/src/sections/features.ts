import { z } from 'zod';
import { columnName } from './common.js';

/** One input feature and its transform. */
export const featureSchema = z.strictObject({
  name: columnName,
  type: z.enum(['number', 'category']),
  transform: z.enum(['standardize', 'onehot', 'none']).optional(),
});

/** `features:` — the model's inputs. */
export const featuresSection = z.array(featureSchema).min(1, 'must declare at least one feature');

import { z } from 'zod';

/** One trigger policy. */
export const triggerSchema = z.strictObject({ kind: z.enum(['manual']) });

/** `triggers:` — when to retrain. */
export const triggersSection = z.array(triggerSchema).default([{ kind: 'manual' }]);

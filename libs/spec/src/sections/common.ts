import { z } from 'zod';

/** A column name as used in the data. */
export const columnName = z.string().min(1, 'must not be empty');

import type { BackendPreference } from './backend.js';
import { ModelingInputError } from './errors.js';

const CHOICES: readonly BackendPreference[] = ['auto', 'wasm', 'cpu', 'tensorflow'];

/**
 * Parses a backend choice from configuration (`REFIT_TF_BACKEND`); absent means `'auto'`
 * (tfjs-node when installed, else wasm). Throws naming the variable when the value is unknown.
 */
export function parseBackendChoice(value: string | undefined, variable = 'REFIT_TF_BACKEND'): BackendPreference {
  if (value === undefined || value === '') return 'auto';
  if ((CHOICES as readonly string[]).includes(value)) return value as BackendPreference;
  throw new ModelingInputError(`${variable} must be one of ${CHOICES.join(', ')}; got '${value}'`);
}

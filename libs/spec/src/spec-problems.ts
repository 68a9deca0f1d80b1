import { parseSpec, SpecError } from './parse.js';

/**
 * The problems a spec is refused with (`path: message` each), for tests and tools that report
 * them all; throws when the spec is accepted.
 */
export function specProblems(text: string): string[] {
  try {
    parseSpec(text);
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  throw new Error('expected the spec to be refused');
}

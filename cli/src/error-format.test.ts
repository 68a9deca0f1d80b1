import { InvalidInputError, UnavailableError } from '@refit/platform/client';
import { describe, expect, it } from 'vitest';
import { errorDetailLines, errorJson } from './error-format.js';

describe('error details in the CLI', () => {
  it('lists each bad field, with its description unless it repeats the message', () => {
    const one = new InvalidInputError('row 1: column "wind" is a struct', { field: 'rows[1].wind' });
    expect(errorDetailLines(one, one.message)).toEqual(['  rows[1].wind']);
    const two = new InvalidInputError('invalid pipeline spec', {
      violations: [
        { field: 'spec_yaml.features[2].transform', description: 'a category feature can use onehot, hash, not minmax' },
        { field: 'spec_yaml.name', description: 'required' },
      ],
    });
    expect(errorDetailLines(two, two.message)).toEqual(['  spec_yaml.features[2].transform: a category feature can use onehot, hash, not minmax', '  spec_yaml.name: required']);
    expect(errorJson(two, 'invalid_input', two.message)).toEqual({
      kind: 'invalid_input',
      message: 'invalid pipeline spec',
      fieldViolations: [
        { field: 'spec_yaml.features[2].transform', description: 'a category feature can use onehot, hash, not minmax' },
        { field: 'spec_yaml.name', description: 'required' },
      ],
    });
  });

  it('says how long an unavailable service asked to wait, and shows nothing for a plain error', () => {
    const down = new UnavailableError('db down', { retryAfterMs: 1500, reason: 'DATABASE_DOWN' });
    expect(errorDetailLines(down, down.message)).toEqual(['  (retry in 1.5 s)']);
    expect(errorJson(down, 'unavailable', down.message)).toEqual({ kind: 'unavailable', message: 'db down', reason: 'DATABASE_DOWN', retryDelayMs: 1500 });
    expect(errorDetailLines(new Error('boom'), 'boom')).toEqual([]);
    expect(errorDetailLines('a string', 'a string')).toEqual([]);
  });
});

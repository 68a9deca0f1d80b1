import { describe, expect, it } from 'vitest';
import { pgJson, printable } from './pg-text.js';

describe('text Postgres can store', () => {
  it('shows a NUL as ␀ and leaves other text as it is', () => {
    expect(printable('a\u0000b\u0000')).toBe('a␀b␀');
    const plain = 'Zürich ❄';
    expect(printable(plain)).toBe(plain);
  });

  it('turns each NUL of a JSON value into ␀, in strings and keys, and leaves an escaped backslash before u0000 alone', () => {
    const json = pgJson({ 'k\u0000': ['v\u0000', 'literal \\u0000 text', '\\\u0000'] });
    expect(json.includes('\\u0000') && !json.includes('\\\\u0000')).toBe(false);
    expect(JSON.parse(json)).toEqual({ 'k␀': ['v␀', 'literal \\u0000 text', '\\␀'] });
  });
});

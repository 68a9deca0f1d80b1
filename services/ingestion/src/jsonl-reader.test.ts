import { describe, expect, it } from 'vitest';
import { jsonShape, JsonlReader, MAX_JSON_DEPTH } from './jsonl-reader.js';

const read = (text: string, columns = ['a', 'b']) => {
  const r = new JsonlReader(columns);
  return [...r.feed(Buffer.from(text)), ...r.feed(undefined)];
};

describe('JsonlReader', () => {
  it('measures nesting and counts the outer members in one pass, outside strings', () => {
    expect(jsonShape('{"a":1,"b":"x:{[","c":{"d":2}}')).toEqual({ members: 3 });
    expect(jsonShape(`{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`)).toEqual({ tooDeepAt: MAX_JSON_DEPTH + 5 });
    expect(jsonShape('{"a\\"":"\\\\"}')).toEqual({ members: 1 });
  });

  it('reads only own keys: a column named constructor is absent, not Object.prototype.constructor', () => {
    expect(read('{"b":1}\n', ['constructor', 'b'])).toEqual([{ fields: ['', '1'], raw: '{"b":1}', line: 1 }]);
  });

  it('quarantines a key given twice, naming it, and a line nested too deep, saying where', () => {
    const [twice, deep] = read(`{"a":1,"b":2,"a":3}\n{"a":${'{"x":'.repeat(100)}1${'}'.repeat(100)}}\n`);
    expect(twice).toMatchObject({ line: 1, column: 'a', problem: "line 1 names the key 'a' twice; which value is meant is unclear: keep one" });
    expect(deep).toMatchObject({ line: 2, column: '', expected: `at most ${MAX_JSON_DEPTH} levels of nesting` });
  });
});

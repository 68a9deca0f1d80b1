// Property-based fuzzing of the spec parser and the business-expression compiler. Inputs start
// from the real specs in examples/ and their expressions, and are mutated — bytes flipped, cut,
// doubled, YAML anchors, aliases, tags, nesting and control characters put in — or built from a
// token soup. Whatever comes in, only the library's own errors come out (SpecError,
// ExpressionError), each case ends quickly, and a spec that is accepted fits an event and reads
// back the same from its JSON (what services receive). Seeded: a failure prints its seed and path.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExpression, evaluateOnCounts, ExpressionError } from './business-expr.js';
import { parseSpec, SpecError, specFromJson } from './parse.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const SPECS = readdirSync(examples)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(examples, f), 'utf8'));
const EXPRESSIONS = ['1000 * cost / n', 'sum(tp_row * 2 * education) - fp', 'mean(pred * amount)', 'max(costs.fn, costs.fp) + min(1, -2) + abs(-4)', '-(tp + fp) / (tn - 1)'];

/** Longest a single case may take. */
const CASE_MS = 2000;
/** Cases per property; FUZZ_RUNS and FUZZ_SEED explore further (a failure prints the seed that reproduces it). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = Number(process.env.FUZZ_SEED ?? 16_100);

/** Text a YAML fuzzer would put in. */
const yamlBits = fc.oneof(
  fc.constantFrom('&a ', '*a', '<<: *a\n', '[', ']', '{', '}', '- ', '? ', ': ', ',', '#', '\n', '\t', '  ', '"', "'", '\\', '!!binary ', '!!js/function ', '!!set ', '%YAML 1.1\n', '---\n', '...\n'),
  fc.constantFrom('"\\0"', '"\\e[2J"', '\u0000', '\uFEFF', '\uD800', '0x1F', '1e999', '-.inf', '.nan', '~', 'null', 'true', '__proto__: {}', 'constructor: 1'),
  fc.constantFrom('* * * * * *', '*/1 * * * * *', '0 0 31 2 *', '@yearly', 'Mars/Olympus'),
  fc.string({ maxLength: 12 }),
  fc.nat({ max: 20_000 }).map((n) => '['.repeat(n)),
  fc.nat({ max: 5_000 }).map((n) => '- '.repeat(n)),
  fc.nat({ max: 300 }).map((n) => 'x'.repeat(n * 50)),
);

/** One edit of a text. */
const edit = (bits: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), char: fc.integer({ min: 0, max: 0x7f }) }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.nat({ max: 80 }) }),
    fc.record({ op: fc.constant('double' as const), at: fc.nat(), length: fc.nat({ max: 400 }), times: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: bits }),
  );
type Edit = typeof edit extends (b: fc.Arbitrary<string>) => fc.Arbitrary<infer E> ? E : never;

function apply(base: string, edits: Edit[]): string {
  let s = base;
  for (const e of edits) {
    const at = e.at % (s.length + 1);
    if (e.op === 'flip' && s.length > 0) s = s.slice(0, at % s.length) + String.fromCharCode(e.char) + s.slice((at % s.length) + 1);
    else if (e.op === 'cut') s = s.slice(0, at) + s.slice(at + e.length);
    else if (e.op === 'double') s = s.slice(0, at + e.length) + s.slice(at, at + e.length).repeat(e.times - 1) + s.slice(at);
    else if (e.op === 'truncate') s = s.slice(0, at);
    else if (e.op === 'insert') s = s.slice(0, at) + e.text + s.slice(at);
  }
  return s;
}

/** What `f` threw, or undefined; fails the case when it took too long. */
function thrownBy(f: () => unknown): unknown {
  const started = performance.now();
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(performance.now() - started).toBeLessThan(CASE_MS);
  return thrown;
}

describe('parseSpec under fuzzing', () => {
  it('throws only SpecError, ends quickly, and an accepted spec fits an event and reads back the same from JSON', () => {
    const text = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...SPECS), fc.array(edit(yamlBits), { minLength: 1, maxLength: 5 })).map(([base, edits]) => apply(base, edits)) },
      { weight: 1, arbitrary: fc.array(yamlBits, { maxLength: 40 }).map((parts) => parts.join('')) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 500 }) },
    );
    fc.assert(
      fc.property(text, (yaml) => {
        let spec: ReturnType<typeof parseSpec> | undefined;
        const thrown = thrownBy(() => (spec = parseSpec(yaml)));
        if (thrown !== undefined) {
          expect(thrown).toBeInstanceOf(SpecError);
          return;
        }
        const json = JSON.stringify(spec);
        // NATS takes at most 1 MiB per message, and an event carries the spec with other fields.
        expect(Buffer.byteLength(json)).toBeLessThan(768 * 1024);
        expect(specFromJson(json)).toEqual(spec);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it('a billion-laughs document of any shape is a SpecError, quickly', () => {
    const bomb = fc.record({ width: fc.integer({ min: 2, max: 12 }), depth: fc.integer({ min: 2, max: 12 }), flow: fc.boolean() }).map(({ width, depth, flow }) => {
      const lines = [`a0: &a0 ${flow ? '[x, x]' : 'x'}`];
      for (let d = 1; d < depth; d++) lines.push(`a${d}: &a${d} [${Array(width).fill(`*a${d - 1}`).join(', ')}]`);
      return `${lines.join('\n')}\n`;
    });
    fc.assert(
      fc.property(bomb, (yaml) => {
        const thrown = thrownBy(() => parseSpec(yaml));
        expect(thrown).toBeInstanceOf(SpecError);
      }),
      { seed: SEED + 2, numRuns: 30 },
    );
  });
});

describe('business expressions under fuzzing', () => {
  const columns = new Map([
    ['education', 'number'],
    ['amount', 'integer'],
    ['region', 'category'],
  ]);
  const token = fc.oneof(
    fc.constantFrom('tp', 'fp', 'tn', 'fn', 'n', 'pos', 'neg', 'cost', 'costs.fp', 'costs.tn', 'y', 'pred', 'tp_row', 'cost_row', 'education', 'amount', 'region'),
    fc.constantFrom('constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'this', 'process', 'globalThis', 'eval', 'Function'),
    fc.constantFrom('+', '-', '*', '/', '%', '**', '>', '<', '==', '!', '~', '&', '|', '?', ':', ',', '.', '[', ']', '(', ')', ' '),
    fc.constantFrom('sum(', 'mean(', 'min(', 'max(', 'abs(', 'log(', 'constructor.constructor(', '"a"', "'b'", '`c`', '0x10', '1e308', '1e-400', 'NaN', 'Infinity'),
    fc.double().map(String),
  );
  const rows = fc.integer({ min: 0, max: 20 }).chain((n) =>
    fc.record({
      y: fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n }),
      pred: fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n }),
      columns: fc.record({ education: fc.array(fc.double(), { minLength: n, maxLength: n }), amount: fc.array(fc.integer(), { minLength: n, maxLength: n }) }),
    }),
  );
  const costs = fc.record({ fp: fc.double(), fn: fc.double(), tp: fc.double(), tn: fc.double() });

  it('throw only ExpressionError, and a compiled one evaluates to a number without throwing', () => {
    const expr = fc.oneof(
      fc.array(token, { maxLength: 30 }).map((t) => t.join('')),
      fc.tuple(fc.constantFrom(...EXPRESSIONS), fc.array(edit(token), { minLength: 1, maxLength: 4 })).map(([base, edits]) => apply(base, edits)),
      fc.nat({ max: 3000 }).map((n) => `${'('.repeat(n)}tp${')'.repeat(n)}`),
      fc.nat({ max: 3000 }).map((n) => `${'-'.repeat(n)}tp`),
    );
    fc.assert(
      fc.property(expr, rows, costs, (e, r, k) => {
        let compiled: ReturnType<typeof compileExpression> | undefined;
        const thrown = thrownBy(() => (compiled = compileExpression(e, columns)));
        if (thrown !== undefined) {
          expect(thrown).toBeInstanceOf(ExpressionError);
          expect((thrown as Error).message).not.toContain("'?'");
          return;
        }
        const value = compiled?.evaluate(r, k);
        expect(typeof value === 'number' && (Number.isFinite(value) || Number.isNaN(value))).toBe(true);
        if (compiled) expect(typeof evaluateOnCounts(compiled, { tp: 1, fp: 2, tn: 3, fn: 4 }, k)).toBe('number');
      }),
      { seed: SEED + 3, numRuns: RUNS * 3 },
    );
  });
});

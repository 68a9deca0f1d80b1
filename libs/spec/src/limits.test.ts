import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC_LIMITS } from './limits.js';
import { parseSpec, SpecError } from './parse.js';
import { specProblems } from './spec-problems.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const weather = readFileSync(join(examples, 'weather-rain.yaml'), 'utf8');

/** The weather spec with `n` more numeric columns (column_0 …), about 52 bytes each. */
const withColumns = (n: number): string =>
  weather.replace('    - { name: location, type: category }\n', `    - { name: location, type: category }\n${Array.from({ length: n }, (_, i) => `    - { name: column_${i}, type: number, nullable: true }\n`).join('')}`);

/** Parses, and returns how long it took with what it threw (a spec that parses is a failure here). */
function refused(text: string, options?: Parameters<typeof parseSpec>[1]): { ms: number; problems: string[] } {
  const started = performance.now();
  try {
    parseSpec(text, options);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return { ms: performance.now() - started, problems: e.problems };
  }
  throw new Error('expected the spec to be refused');
}

describe('spec limits', () => {
  it('the defaults are documented values', () => {
    expect(DEFAULT_SPEC_LIMITS).toEqual({
      maxBytes: 256 * 1024,
      maxAliases: 50,
      maxDepth: 32,
      maxColumns: 1000,
      maxFeatures: 1000,
      maxDescriptionLength: 4096,
      maxNameLength: 128,
      maxStringLength: 1024,
      minCronIntervalSeconds: 60,
    });
  });

  it('a YAML bomb (billion laughs) is a SpecError naming the aliases, not an internal error', () => {
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [k, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h']]) lol.push(`${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`);
    const { ms, problems } = refused(lol.join('\n'));
    expect(problems).toEqual([
      '(yaml): the aliases (*name) expand past the limit of 50: a spec needs few, if any (a YAML bomb repeats them to make a huge document)',
    ]);
    expect(ms).toBeLessThan(1000);
    // An alias to an anchor that is not there is a plain YAML error.
    expect(specProblems('a: *nope')).toEqual(['(yaml): unresolved alias *nope: an alias must follow the anchor (&nope) it refers to']);
  });

  it('a 50,000-column spec (2.6 MB) is refused at once, by its size', () => {
    const big = withColumns(50_000);
    expect(big.length).toBeGreaterThan(2_000_000);
    const { ms, problems } = refused(big);
    expect(problems).toEqual([`(spec): ${(Buffer.byteLength(big) / 2 ** 20).toFixed(1)} MiB is over the limit of 256 KiB`]);
    expect(ms).toBeLessThan(200);
  });

  it('1,001 columns or features are refused naming the list, and the limits are options', () => {
    expect(refused(withColumns(1001)).problems).toEqual(['schema.columns: 1008 columns; at most 1000']);
    const features = weather.replace('  - { name: wind, type: number }\n', `  - { name: wind, type: number }\n${'  - { name: wind, type: number }\n'.repeat(1000)}`);
    expect(refused(features).problems).toEqual(['features: 1003 features; at most 1000']);
    expect(refused(weather, { limits: { maxColumns: 5 } }).problems).toEqual(['schema.columns: 7 columns; at most 5']);
    expect(parseSpec(withColumns(1001), { limits: { maxColumns: 2000 } }).schema.columns).toHaveLength(1008);
  });

  it('a 1.1 MB description is refused by the size limit; one over 4 KiB by the field limit, naming it', () => {
    expect(refused(weather.replace(/^description: .*$/m, `description: ${'x'.repeat(1_100_000)}`)).problems[0]).toMatch(/^\(spec\): 1\.1 MiB is over the limit of 256 KiB$/);
    expect(refused(weather.replace(/^description: .*$/m, `description: ${'x'.repeat(5000)}`)).problems).toEqual(['description: 5000 characters; at most 4096']);
    const longName = 'c'.repeat(129);
    expect(refused(weather.replace('name: wind, type: number, min: 0', `name: ${longName}, type: number, min: 0`)).problems).toContain(
      'schema.columns[5].name: 129 characters; at most 128',
    );
    expect(refused(weather.replace('  - kind: manual', `  - { kind: external, sources: [${'s'.repeat(1025)}] }`)).problems).toEqual([
      'triggers[0].sources[0]: 1025 characters; at most 1024',
    ]);
  });

  it('refuses a NUL or another control character in any string, naming the field', () => {
    expect(refused(weather.replace('name: wind, type', 'name: "wi\\0nd", type')).problems).toContain('schema.columns[5].name: holds a control character (U+0000): remove it');
    expect(refused(weather.replace(/^description: .*$/m, 'description: "rain\\e[2J"')).problems).toEqual(['description: holds a control character (U+001B): remove it']);
    // Line breaks and tabs are text.
    expect(parseSpec(weather.replace(/^description: .*$/m, 'description: "line one\\n\\tline two"')).description).toBe('line one\n\tline two');
  });

  it('refuses nesting deeper than the limit before the YAML parser sees it (10,000 flow brackets crashed the process)', () => {
    const { ms, problems } = refused(`${weather}extra: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
    expect(problems).toEqual(['(yaml) line 52: nested deeper than 32 levels; a spec is a few levels deep']);
    expect(ms).toBeLessThan(500);
    expect(refused(`${weather}extra:\n  ${'- '.repeat(5_000)}x\n`).problems).toEqual(['(yaml) line 53: nested deeper than 32 levels; a spec is a few levels deep']);
  });

  it('a cron firing more often than once a minute is refused, saying how often it fires', () => {
    const cron = (expr: string): string => weather.replace('  - kind: manual', `  - { kind: schedule, cron: '${expr}' }`);
    expect(refused(cron('* * * * * *')).problems).toEqual([
      "triggers[0].cron: '* * * * * *' fires every 1 second; a schedule fires at most once every 60 seconds (a 6-field cron starts with seconds: use 5 fields, e.g. '* * * * *' for every minute)",
    ]);
    expect(refused(cron('*/20 * * * * *')).problems).toEqual([
      "triggers[0].cron: '*/20 * * * * *' fires every 20 seconds; a schedule fires at most once every 60 seconds (a 6-field cron starts with seconds: use 5 fields, e.g. '* * * * *' for every minute)",
    ]);
    // Once a minute, in 5 fields or 6; and the limit is an option.
    expect(parseSpec(cron('* * * * *')).triggers[0]).toMatchObject({ cron: '* * * * *' });
    expect(parseSpec(cron('30 * * * * *')).triggers[0]).toMatchObject({ cron: '30 * * * * *' });
    expect(refused(cron('*/5 * * * *'), { limits: { minCronIntervalSeconds: 3600 } }).problems).toEqual([
      "triggers[0].cron: '*/5 * * * *' fires every 300 seconds; a schedule fires at most once every 3600 seconds",
    ]);
    // The shortest gap counts: 00:00 and 00:01 every day is a minute apart.
    expect(refused(cron('0,1 0 * * *'), { limits: { minCronIntervalSeconds: 3600 } }).problems[0]).toMatch(/^triggers\[0\]\.cron: '0,1 0 \* \* \*' fires every 60 seconds; /);
    expect(parseSpec(cron('0 0,1 * * *'), { limits: { minCronIntervalSeconds: 3600 } }).triggers).toHaveLength(1);
  });

  it('lists at most 50 problems in the message, all of them in problems', () => {
    const bad = weather.replace('features:\n', `features:\n${'  - { name: nope, type: number }\n'.repeat(80)}`);
    const e = (() => {
      try {
        parseSpec(bad);
      } catch (err) {
        return err as SpecError;
      }
      throw new Error('expected a SpecError');
    })();
    expect(e.problems).toHaveLength(80);
    expect(e.message).toMatch(/; … and 30 more$/);
  });
});

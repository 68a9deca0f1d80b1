import { describe, expect, it } from 'vitest';
import { DAY_MS, DEFAULT_OPTIONS, parseDuration, parseInstant, replayCommand, type Invocation } from './args.js';

async function parse(argv: string[]): Promise<Invocation> {
  let got: Invocation | undefined;
  await replayCommand(async (inv) => {
    got = inv;
  })
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .parseAsync(argv, { from: 'user' });
  if (!got) throw new Error('no invocation');
  return got;
}

describe('refit replay arguments', () => {
  it('reads durations and dates', () => {
    expect(parseDuration('7d', '--period')).toBe(7 * DAY_MS);
    expect(parseDuration('12h', '--period')).toBe(12 * 3_600_000);
    expect(() => parseDuration('weekly', '--period')).toThrow("--period 'weekly': give a duration such as 7d, 1d, 30d or 12h");
    expect(() => parseDuration('0d', '--period')).toThrow(/give a duration/);
    expect(parseInstant('2013-01-01', '--from')).toBe(Date.parse('2013-01-01T00:00:00Z'));
    expect(() => parseInstant('soon', '--from')).toThrow("--from 'soon': give a date such as 2013-01-01 or an ISO time");
  });

  it('takes one spec, or two to compare (as a second argument or --compare), with the defaults', async () => {
    const one = await parse(['a.yaml', '--data', 'x.csv', 'y.jsonl']);
    expect(one).toEqual({ specs: ['a.yaml'], data: ['x.csv', 'y.jsonl'], options: { ...DEFAULT_OPTIONS, from: undefined, until: undefined } });
    expect((await parse(['a.yaml', 'b.yaml', '--data', 'x.csv'])).specs).toEqual(['a.yaml', 'b.yaml']);
    const two = await parse(['a.yaml', '--compare', 'b.yaml', '--data', 'x.csv', '--period', '1d', '--label-delay', '2', '--from', '2013-01-01', '--json']);
    expect(two.specs).toEqual(['a.yaml', 'b.yaml']);
    expect(two.options).toMatchObject({ periodMs: DAY_MS, labelDelay: 2, from: Date.parse('2013-01-01T00:00:00Z'), json: true });
  });

  it('refuses what it cannot replay, saying what to give', async () => {
    await expect(parse(['a.yaml'])).rejects.toThrow('give the history to replay with --data <file.csv|file.jsonl>…');
    await expect(parse(['a.yaml', 'b.yaml', 'c.yaml', '--data', 'x.csv'])).rejects.toThrow(/give one spec, or two to compare \(got 3\)/);
    await expect(parse(['a.yaml', '--data', 'x.parquet'])).rejects.toThrow('--data x.parquet: a .csv or .jsonl file');
    await expect(parse(['a.yaml', '--data', 'x.csv', '--from', '2014-01-01', '--until', '2013-01-01'])).rejects.toThrow('--until 2013-01-01 is not after --from 2014-01-01');
    await expect(parse(['a.yaml', '--data', 'x.csv', '--label-delay', '-1'])).rejects.toThrow(/--label-delay '-1': give a whole number/);
  });
});

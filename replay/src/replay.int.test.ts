import { initBackend } from '@refit/modeling';
import { beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, DEFAULT_OPTIONS, type ReplayOptions } from './args.js';
import { Replay, type ReplayResult } from './engine.js';
import { historyOf, type DataFile } from './records.js';
import type { PeriodRow } from './report.js';
import { spec, weather, type SpecEdit } from './weather.fixtures.js';

const MIN = 60_000;
// Each test trains tens of small models on the wasm backend.
const SLOW = 120_000;

async function replay(edit: SpecEdit, data: DataFile, opts: Partial<ReplayOptions>): Promise<ReplayResult> {
  const s = spec(edit);
  return new Replay(s, { ...DEFAULT_OPTIONS, ...opts }).run(historyOf([data], s));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const quality = (rows: PeriodRow[], metric: 'accuracy' | 'logLoss') => mean(rows.map((r) => r[metric] as number));

describe('refit replay on real weather, on a virtual clock', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
  });

  it('trains a weekly schedule replayed over a year of Seattle about 52 times, though hygiene allows 24 runs a day: the budget counts virtual days', async () => {
    const seattle = weather('seattle.csv', { location: 'Seattle', from: '2012-01-01', until: '2014-01-01' });
    const r = await replay({ triggers: ['{ kind: schedule, cron: "0 3 * * 1" }'], epochs: 5 }, seattle, { bootstrapMs: 366 * DAY_MS });
    expect(spec({ triggers: [] }).hygiene.maxRunsPerDay).toBe(24);
    const scheduled = r.runs.filter((x) => x.trigger === 'schedule');
    expect(scheduled.length).toBeGreaterThanOrEqual(52);
    expect(scheduled.length).toBeLessThanOrEqual(53);
    // Every slot started its run: nothing was suppressed, and the runs are a virtual week apart (Mondays 03:00).
    expect(r.summary.fired).toEqual({ start: scheduled.length + 1 });
    expect(new Set(scheduled.map((x) => new Date(x.startedAt).getUTCDay()))).toEqual(new Set([1]));
    expect(scheduled[0].startedAt).toBe('2013-01-07T03:00:00.000Z');
    expect(r.summary.trainings).toBe(scheduled.length + 1);
    expect(r.periods).toHaveLength(53);
  }, SLOW);

  it('honours a cool-down in virtual minutes: a trigger during it is deferred to its end, one run then', async () => {
    const january = weather('seattle.csv', { location: 'Seattle', from: '2012-01-01', until: '2013-02-01' });
    const edit = (cooldown: number): SpecEdit => ({ triggers: ['{ kind: schedule, cron: "0 */6 * * *" }'], epochs: 3, tail: `hygiene: { cooldownMinutes: ${cooldown} }` });
    const opts = { bootstrapMs: 366 * DAY_MS, periodMs: DAY_MS };
    const cooled = await replay(edit(1440), january, opts);
    const runs = cooled.runs.slice(1).map((x) => ({ ...x, start: Date.parse(x.startedAt) }));
    // Every run after the first waits 1440 virtual minutes after the previous one ended (here exactly: it was deferred to then).
    cooled.runs.slice(0, -1).forEach((prev, i) => {
      if (prev.endedAt) expect(runs[i].start - Date.parse(prev.endedAt)).toBe(1440 * MIN);
    });
    expect(runs.every((x) => x.trigger === 'deferred')).toBe(true);
    // A run takes 10 virtual minutes: one every 24 h 10 min over the 31 days of January.
    expect(runs.length).toBe(30);
    const deferrals = cooled.periods.flatMap((p) => p.fired).filter((d) => d.action === 'defer');
    expect(deferrals[0].reason).toMatch(/cool-down: the last run ended 360\.0 min ago, 1440 min must pass; deferred: a run starts at 2013-01-02T00:00:00\.000Z$/);
    const free = await replay(edit(0), january, opts);
    expect(free.runs.filter((x) => x.trigger === 'schedule')).toHaveLength(31 * 4);
  }, SLOW);

  it('retrains a performance-triggered Seattle model after the move to New York, and the served quality recovers', async () => {
    const moved = weather('seattle-then-new-york.csv', { location: 'Seattle', from: '2012-01-01', until: '2014-01-01' }, { location: 'New York', from: '2014-01-01', until: '2014-07-01' });
    const r = await replay(
      {
        window: '{ lastBatches: 12 }',
        triggers: ['{ kind: performance, metric: accuracy, maxDrop: 0.05, minLabeled: 365 }'],
        gates: 'gates:\n  floors: { accuracy: 0.55 }\n  champion: [{ metric: logLoss, test: not-worse, margin: 0.05 }]\nevaluation: { minSamples: 20 }',
      },
      moved,
      { bootstrapMs: 366 * DAY_MS },
    );
    const fired = r.periods.flatMap((p) => p.fired).filter((d) => d.policy === 'performance' && d.action === 'start');
    expect(fired.length).toBeGreaterThan(0);
    // Seattle's own seasons never fired it: the first alarm is about New York days.
    expect(fired[0].at >= '2014-01-01').toBe(true);
    expect(fired[0].reason).toMatch(/^v1: live accuracy .* vs its live reference .*performance dropped by more than 0\.05; a new run starts$/);
    const promoted = r.periods.findIndex((p) => p.start >= '2014-01-01' && p.promotions.length > 0);
    expect(promoted).toBeGreaterThan(0);
    const version = r.periods[promoted].promotions[0].version;
    const before = r.periods.filter((p, i) => p.start >= '2014-01-01' && i < promoted && Object.keys(p.servedBy).join() === 'v1');
    const after = r.periods.slice(promoted + 1, promoted + 9).filter((p) => Object.keys(p.servedBy).join() === version);
    expect(before.length).toBeGreaterThanOrEqual(6);
    expect(after).toHaveLength(8);
    expect(quality(after, 'logLoss')).toBeLessThan(quality(before, 'logLoss') - 0.3);
    expect(quality(after, 'accuracy')).toBeGreaterThan(quality(before, 'accuracy'));
  }, SLOW);
});

import { describe, expect, it } from 'vitest';
import { applyHygiene } from './hygiene.js';
import { evaluateAge, evaluateBusiness, evaluateDrift, evaluateSchedule, evaluateVolume, nextSlot, ON_TIME_MS, type LiveDrift } from './policies.js';

const daily = { kind: 'schedule' as const, cron: '0 3 * * *', timezone: 'Europe/Paris', catchUp: 'latest' as const };
const at = (iso: string) => new Date(iso);

describe('schedule policy', () => {
  it('fires an on-time slot in its time zone, across a DST change', () => {
    // 2026-03-29 is the spring-forward day in Paris: 03:00 local is 01:00Z.
    const r = evaluateSchedule(daily, at('2026-03-29T00:00:00Z'), at('2026-03-29T01:00:20Z'));
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ fired: true, evidenceKey: 'slot:2026-03-29T01:00:00.000Z' });
    expect(r[0].reason).toBe("slot 2026-03-29T01:00:00.000Z of '0 3 * * *' (Europe/Paris) is due");
    expect(nextSlot(daily, at('2026-03-29T01:00:20Z')).toISOString()).toBe('2026-03-30T01:00:00.000Z');
  });

  it('nothing is due before the slot, and a decided slot is not due again', () => {
    expect(evaluateSchedule(daily, at('2026-03-29T00:00:00Z'), at('2026-03-29T00:59:59Z'))).toEqual([]);
    expect(evaluateSchedule(daily, at('2026-03-29T01:00:00Z'), at('2026-03-29T01:00:30Z'))).toEqual([]);
  });

  it('catch-up latest fires once for the newest missed slot; all fires each; none skips them', () => {
    const since = at('2026-11-01T00:00:00Z');
    const now = at('2026-11-04T12:00:00Z'); // slots on the 1st, 2nd, 3rd and 4th at 02:00Z, all missed
    const latest = evaluateSchedule(daily, since, now);
    expect(latest.map((e) => e.fired)).toEqual([false, false, false, true]);
    expect(latest[3].reason).toMatch(/was missed by \d+ s; catch-up 'latest' fires it/);
    expect(evaluateSchedule({ ...daily, catchUp: 'all' }, since, now).every((e) => e.fired)).toBe(true);
    const none = evaluateSchedule({ ...daily, catchUp: 'none' }, since, now);
    expect(none.some((e) => e.fired)).toBe(false);
    expect(none[0].reason).toMatch(/catch-up 'none' skips it/);
  });

  it('an on-time slot fires under catch-up none', () => {
    const slot = at('2026-11-04T02:00:00Z');
    const r = evaluateSchedule({ ...daily, catchUp: 'none' }, at('2026-11-04T01:00:00Z'), new Date(slot.getTime() + ON_TIME_MS - 1));
    expect(r.map((e) => e.fired)).toEqual([true]);
  });
});

describe('volume policy', () => {
  it('fires on absolute rows or on a share of the last training set', () => {
    expect(evaluateVolume({ kind: 'volume', minRows: 1000 }, 999, 0).fired).toBe(false);
    expect(evaluateVolume({ kind: 'volume', minRows: 1000 }, 1000, 0)).toMatchObject({ fired: true, measured: { rowsSinceRun: 1000 } });
    const share = evaluateVolume({ kind: 'volume', minShare: 0.25 }, 300, 1000);
    expect(share.fired).toBe(true);
    expect(share.reason).toBe('new data since the last run: 30.0 % of the last training set (threshold 25.0 %) — threshold crossed');
    expect(evaluateVolume({ kind: 'volume', minShare: 0.25 }, 300, 0).reason).toContain('no previous training set to compare with');
  });
});

describe('age policy', () => {
  it('waits for a first model, then fires once per model when too old', () => {
    const p = { kind: 'age' as const, maxAgeHours: 24 };
    expect(evaluateAge(p, undefined, at('2026-11-02T00:00:00Z')).fired).toBe(false);
    const young = evaluateAge(p, at('2026-11-01T12:00:00Z'), at('2026-11-02T00:00:00Z'));
    expect(young).toMatchObject({ fired: false, evidenceKey: undefined });
    const old = evaluateAge(p, at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'));
    expect(old).toMatchObject({ fired: true, evidenceKey: 'age:2026-11-01T00:00:00.000Z' });
    expect(old.reason).toBe('the last training was 24.00 h ago (maximum 24 h) — too old');
  });
});

describe('hygiene', () => {
  const h = { debounce: 2, cooldownMinutes: 30, maxRunsPerDay: 3, whenBusy: 'coalesce' as const, duringRollout: 'queue' as const };
  const now = at('2026-11-26T12:00:00Z');
  const idle = { queued: false, runsLast24h: 0, consecutive: 2 };

  it('debounces automatic triggers but not manual ones', () => {
    expect(applyHygiene(h, { ...idle, consecutive: 1 }, now, false)).toEqual({ action: 'suppress', reason: 'debounce: the condition held 1 of 2 consecutive evaluations' });
    expect(applyHygiene(h, { ...idle, consecutive: 1 }, now, true).action).toBe('start');
  });

  it('joins or queues behind a run in flight', () => {
    expect(applyHygiene(h, { ...idle, inFlightRunId: 'r-1' }, now, false).action).toBe('coalesce');
    const q = { ...h, whenBusy: 'queue' as const };
    expect(applyHygiene(q, { ...idle, inFlightRunId: 'r-1' }, now, false).action).toBe('queue');
    expect(applyHygiene(q, { ...idle, inFlightRunId: 'r-1', queued: true }, now, false).action).toBe('coalesce');
  });

  it('holds the daily budget, manual requests included, and the cool-down for automatic ones', () => {
    expect(applyHygiene(h, { ...idle, runsLast24h: 3 }, now, true)).toEqual({ action: 'suppress', reason: 'budget: 3 runs in the last 24 h, at most 3' });
    const recent = { ...idle, lastRunEndedAt: at('2026-11-26T11:45:00Z') };
    expect(applyHygiene(h, recent, now, true).action).toBe('start');
  });

  it('defers a trigger during the cool-down to its end instead of dropping it; later ones join the deferred run', () => {
    const recent = { ...idle, lastRunEndedAt: at('2026-11-26T11:45:00Z') };
    expect(applyHygiene(h, recent, now, false)).toEqual({
      action: 'defer',
      reason: 'cool-down: the last run ended 15.0 min ago, 30 min must pass; deferred: a run starts at 2026-11-26T12:15:00.000Z',
      until: at('2026-11-26T12:15:00Z'),
    });
    const again = applyHygiene(h, { ...recent, deferredUntil: at('2026-11-26T12:15:00Z') }, now, false);
    expect(again).toMatchObject({ action: 'coalesce', until: at('2026-11-26T12:15:00Z') });
    expect(again.reason).toContain('a run is already deferred to 2026-11-26T12:15:00.000Z, this trigger joins it');
  });

  it('never lets new data join a run that is in its rollout: queue one behind it, or supersede it', () => {
    const inRollout = { ...idle, inFlightRunId: 'r-1', inFlightInRollout: true };
    // Even with whenBusy: coalesce, the run in rollout finished training: the trigger queues a run.
    expect(applyHygiene(h, inRollout, now, false)).toMatchObject({ action: 'queue', reason: 'run r-1 is in its rollout; one run is queued to start when the rollout ends' });
    expect(applyHygiene(h, { ...inRollout, queued: true }, now, false).action).toBe('coalesce');
    expect(applyHygiene({ ...h, duringRollout: 'supersede' }, inRollout, now, false).action).toBe('start');
    // A run still training is joined as before.
    expect(applyHygiene(h, { ...idle, inFlightRunId: 'r-1', inFlightInRollout: false }, now, false).action).toBe('coalesce');
  });
});

describe('drift policy', () => {
  const policy = { kind: 'drift' as const, maxShare: 0.5, features: { wind: { psi: 0.5 } }, minSamples: 50 };
  /** A live report with the PSI values measured on Seattle/New York weather against Seattle 2012 (limit 0.25 per column). */
  const report = (psi: Record<string, number>, rows: number, status?: string): LiveDrift => {
    const columns = Object.entries(psi).map(([column, v]) => ({ column, psi: rows < 50 ? null : v, status: rows < 50 ? 'not-enough-data' : v >= 0.25 ? 'drift' : 'no-drift', referenceSize: 366, currentSize: rows }));
    const drifted = columns.filter((c) => c.status === 'drift').length;
    return { version: 'v1', windowEnd: '2026-01-01T00:00:00.000Z', referenceRunId: 'r-2012', status: status ?? (rows < 50 ? 'not-enough-data' : drifted / columns.length >= 0.5 ? 'drift' : 'no-drift'), share: rows < 50 ? 0 : drifted / columns.length, columns };
  };

  it('fires on a drifted quarter by the share, with the evidence of every feature', () => {
    const e = evaluateDrift(policy, report({ temp_max: 1.992, temp_min: 1.951, wind: 0.129 }, 90));
    expect(e.fired).toBe(true);
    expect(e.reason).toBe('v1: window ending 2026-01-01T00:00:00.000Z vs the training data of r-2012: 2/3 features drifted on 90 rows (share 0.67, limit 0.5); wind PSI 0.129 <= 0.5 — data drifted');
    expect(e.evidenceKey).toBe('drift:v1:2026-01-01T00:00:00.000Z');
    expect(e.thresholds).toEqual({ maxShare: 0.5, psi: { wind: 0.5 }, minSamples: 50 });
    expect(e.measured).toMatchObject({ rows: 90, share: 2 / 3, columns: { temp_max: { psi: 1.992, status: 'drift', referenceSize: 366, currentSize: 90 } } });
  });

  it('stays quiet on a full year, fires on a per-feature limit alone, and waits for enough rows', () => {
    expect(evaluateDrift(policy, report({ temp_max: 0.198, temp_min: 0.132, wind: 0.106 }, 365)).fired).toBe(false);
    const windOnly = evaluateDrift({ kind: 'drift', features: { wind: { psi: 0.5 } }, minSamples: 50 }, report({ temp_max: 0.2, temp_min: 0.1, wind: 1.272 }, 365));
    expect(windOnly).toMatchObject({ fired: true });
    expect(windOnly.reason).toContain('wind PSI 1.272 > 0.5 — data drifted');
    const small = evaluateDrift(policy, report({ temp_max: 5.4, temp_min: 4.9, wind: 1.8 }, 20));
    expect(small).toMatchObject({ fired: false, measured: { rows: 20 } });
    expect(small.reason).toContain('only 20 rows (at least 50 needed) — not enough data');
    // The policy's own minimum applies even when the feature service measured the window.
    expect(evaluateDrift({ ...policy, minSamples: 200 }, report({ temp_max: 2, temp_min: 2, wind: 1 }, 90)).fired).toBe(false);
  });

  it('says when a listed feature was not measured', () => {
    const e = evaluateDrift({ kind: 'drift', features: { humidity: { psi: 0.1 } }, minSamples: 50 }, report({ temp_max: 0.1 }, 100));
    expect(e).toMatchObject({ fired: false });
    expect(e.reason).toContain('humidity not measured');
  });
});

describe('business policy', () => {
  const p = { kind: 'business' as const, metric: 'conversion', sources: ['bi'], below: 0.02 };
  it('fires when the reported value leaves its bounds, once per report', () => {
    const low = evaluateBusiness(p, { source: 'bi', value: 0.015, version: 'v3', eventId: 'e1' });
    expect(low).toMatchObject({ fired: true, evidenceKey: 'metric:e1' });
    expect(low.reason).toBe('bi reported conversion = 0.015 for v3; fires below 0.02 — out of bounds');
    expect(evaluateBusiness(p, { source: 'bi', value: 0.03, version: '', eventId: 'e2' }).fired).toBe(false);
    expect(evaluateBusiness({ ...p, below: undefined, above: 5 }, { source: 'bi', value: 6, version: '', eventId: 'e3' }).fired).toBe(true);
  });
});

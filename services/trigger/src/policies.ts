import { CronExpressionParser } from 'cron-parser';
import type { TriggerPolicy } from '@refit/spec';

/** The current time; injected so tests can move it. */
export type Clock = () => Date;

/** One evaluation of a policy: whether its condition holds, and the evidence. */
export type Evaluation = {
  fired: boolean;
  /** One plain sentence: what was measured, against what, and the outcome. */
  reason: string;
  measured: Record<string, unknown>;
  thresholds: Record<string, unknown>;
  /** The same evidence is decided once (e.g. `slot:2026-11-26T03:00:00.000Z`). */
  evidenceKey?: string;
  /** For schedules: the slot this evaluation is about. */
  slot?: Date;
};

type Schedule = Extract<TriggerPolicy, { kind: 'schedule' }>;
type Volume = Extract<TriggerPolicy, { kind: 'volume' }>;
type Age = Extract<TriggerPolicy, { kind: 'age' }>;
type Drift = Extract<TriggerPolicy, { kind: 'drift' }>;

/** A slot is on time when it is evaluated within this long after it; later it was missed. */
export const ON_TIME_MS = 60_000;

/** Slots of a cron schedule after `since` up to and including `now`, oldest first (at most `limit`). */
export function slotsBetween(policy: Schedule, since: Date, now: Date, limit = 1000): Date[] {
  const it = CronExpressionParser.parse(policy.cron, { currentDate: since, endDate: now, tz: policy.timezone });
  const out: Date[] = [];
  while (out.length < limit && it.hasNext()) {
    const d = it.next().toDate();
    if (d.getTime() > now.getTime()) break;
    out.push(d);
  }
  return out;
}

/** The next slot of a schedule after `now`. */
export function nextSlot(policy: Schedule, now: Date): Date {
  return CronExpressionParser.parse(policy.cron, { currentDate: now, tz: policy.timezone }).next().toDate();
}

/**
 * Decides the due slots of a schedule (those after `since`, the last decided slot or the moment
 * the policy appeared): an on-time slot fires; missed slots follow the catch-up rule — `latest`
 * fires once for the most recent one, `all` fires each, `none` records them as skipped.
 */
export function evaluateSchedule(policy: Schedule, since: Date, now: Date): Evaluation[] {
  const due = slotsBetween(policy, since, now);
  const thresholds = { cron: policy.cron, timezone: policy.timezone, catchUp: policy.catchUp };
  return due.map((slot, i) => {
    const late = now.getTime() - slot.getTime();
    const onTime = late <= ON_TIME_MS;
    const isLast = i === due.length - 1;
    const fired = onTime || policy.catchUp === 'all' || (policy.catchUp === 'latest' && isLast);
    const when = `slot ${slot.toISOString()} of '${policy.cron}' (${policy.timezone})`;
    const reason = onTime
      ? `${when} is due`
      : fired
        ? `${when} was missed by ${Math.round(late / 1000)} s; catch-up '${policy.catchUp}' fires it`
        : `${when} was missed by ${Math.round(late / 1000)} s; catch-up '${policy.catchUp}' skips it`;
    return { fired, reason, measured: { slot: slot.toISOString(), lateMs: late }, thresholds, evidenceKey: `slot:${slot.toISOString()}`, slot };
  });
}

/** New data since the last run against the policy's absolute and relative thresholds. */
export function evaluateVolume(policy: Volume, rowsSinceRun: number, lastRunRows: number): Evaluation {
  const share = lastRunRows > 0 ? rowsSinceRun / lastRunRows : null;
  const byRows = policy.minRows !== undefined && rowsSinceRun >= policy.minRows;
  const byShare = policy.minShare !== undefined && share !== null && share >= policy.minShare;
  const fired = byRows || byShare;
  const parts = [
    policy.minRows !== undefined ? `${rowsSinceRun} of ${policy.minRows} rows` : '',
    policy.minShare !== undefined ? (share === null ? 'no previous training set to compare with' : `${(share * 100).toFixed(1)} % of the last training set (threshold ${(policy.minShare * 100).toFixed(1)} %)`) : '',
  ].filter(Boolean);
  return {
    fired,
    reason: `new data since the last run: ${parts.join('; ')}${fired ? ' — threshold crossed' : ' — below threshold'}`,
    measured: { rowsSinceRun, lastRunRows, share },
    thresholds: { minRows: policy.minRows ?? null, minShare: policy.minShare ?? null },
  };
}

/** The age of the last trained model against the policy's maximum. */
export function evaluateAge(policy: Age, lastTrainedAt: Date | undefined, now: Date): Evaluation {
  const thresholds = { maxAgeHours: policy.maxAgeHours };
  if (!lastTrainedAt) return { fired: false, reason: 'no model has been trained yet; the age policy waits for the first one', measured: { ageHours: null }, thresholds };
  const ageHours = (now.getTime() - lastTrainedAt.getTime()) / 3_600_000;
  const fired = ageHours >= policy.maxAgeHours;
  return {
    fired,
    reason: `the last training was ${ageHours.toFixed(2)} h ago (maximum ${policy.maxAgeHours} h)${fired ? ' — too old' : ''}`,
    measured: { ageHours, lastTrainedAt: lastTrainedAt.toISOString() },
    thresholds,
    // One decision per trained model: the same old model does not fire again and again.
    evidenceKey: fired ? `age:${lastTrainedAt.toISOString()}` : undefined,
  };
}

/** A live drift report as the drift policy reads it (from the feature service's `drift.report`). */
export type LiveDrift = {
  version: string;
  windowEnd: string;
  referenceRunId: string;
  /** drift | no-drift | not-enough-data (the feature service's verdict). */
  status: string;
  /** Share of the compared features that drifted. */
  share: number;
  columns: Array<{ column: string; psi: number | null; status: string; referenceSize: number; currentSize: number }>;
};

/**
 * A live feature window's drift against the served model's training data: fires when the share
 * of drifted features reaches `maxShare` or a listed feature's PSI exceeds its limit — only on
 * windows of at least `minSamples` rows, since small windows inflate PSI by noise alone.
 */
export function evaluateDrift(policy: Drift, d: LiveDrift): Evaluation {
  const limits = Object.entries(policy.features ?? {}).flatMap(([name, f]) => (f.psi === undefined ? [] : [[name, f.psi] as const]));
  const thresholds = { maxShare: policy.maxShare ?? null, psi: Object.fromEntries(limits), minSamples: policy.minSamples };
  const rows = d.columns.length ? Math.min(...d.columns.map((c) => c.currentSize)) : 0;
  const columns = Object.fromEntries(d.columns.map((c) => [c.column, { psi: c.psi, status: c.status, referenceSize: c.referenceSize, currentSize: c.currentSize }]));
  const measured = { version: d.version, windowEnd: d.windowEnd, referenceRunId: d.referenceRunId, status: d.status, share: d.share, rows, columns };
  const evidenceKey = `drift:${d.version}:${d.windowEnd}`;
  const head = `${d.version}: window ending ${d.windowEnd} vs the training data of ${d.referenceRunId}`;
  if (rows < policy.minSamples || d.status === 'not-enough-data') {
    return { fired: false, reason: `${head}: only ${rows} rows (at least ${policy.minSamples} needed) — not enough data`, measured, thresholds, evidenceKey };
  }
  const drifted = d.columns.filter((c) => c.status === 'drift').length;
  const byShare = policy.maxShare !== undefined && d.share >= policy.maxShare;
  const parts = [`${drifted}/${d.columns.length} features drifted on ${rows} rows (share ${d.share.toFixed(2)}${policy.maxShare !== undefined ? `, limit ${policy.maxShare}` : ''})`];
  let crossed = false;
  for (const [name, limit] of limits) {
    const psi = d.columns.find((c) => c.column === name)?.psi ?? null;
    if (psi === null) {
      parts.push(`${name} not measured`);
      continue;
    }
    const over = psi > limit;
    crossed ||= over;
    parts.push(`${name} PSI ${psi.toFixed(3)} ${over ? '>' : '<='} ${limit}`);
  }
  const fired = byShare || crossed;
  return { fired, reason: `${head}: ${parts.join('; ')}${fired ? ' — data drifted' : ''}`, measured, thresholds, evidenceKey };
}

type Business = Extract<TriggerPolicy, { kind: 'business' }>;

/** An externally reported business metric against the policy's limits. */
export function evaluateBusiness(policy: Business, report: { source: string; value: number; version: string; eventId: string }): Evaluation {
  const low = policy.below !== undefined && report.value < policy.below;
  const high = policy.above !== undefined && report.value > policy.above;
  const limits = [policy.below !== undefined ? `below ${policy.below}` : '', policy.above !== undefined ? `above ${policy.above}` : ''].filter(Boolean).join(' or ');
  const fired = low || high;
  return {
    fired,
    reason: `${report.source} reported ${policy.metric} = ${report.value}${report.version ? ` for ${report.version}` : ''}; fires ${limits}${fired ? ' — out of bounds' : ''}`,
    measured: { metric: policy.metric, value: report.value, source: report.source, version: report.version || null },
    thresholds: { below: policy.below ?? null, above: policy.above ?? null },
    evidenceKey: `metric:${report.eventId}`,
  };
}

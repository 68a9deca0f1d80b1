import { randomBytes } from 'node:crypto';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { alertDetailsFromJson } from '@refit/contracts';
import { EVENTS, type ServiceRuntime } from '@refit/platform';
import { specFromJson, type AlertKind, type PipelineSpec } from '@refit/spec';
import type pg from 'pg';
import { insertAlert, insertDelivery, type AlertRow } from './alert-store.js';
import { getPipeline } from './store.js';

/** What {@link raiseAlert} needs to know. */
export type AlertInput = {
  pipeline: string;
  kind: AlertKind;
  runId?: string;
  /** One plain sentence with the numbers. */
  summary: string;
  details: Record<string, unknown>;
  /** What raised it (`run-failed:<run id>`, `decision:<id>`…): the same source raises one alert. */
  sourceKey: string;
  /** The pipeline's spec, when the caller has it already (else the current one is read). */
  spec?: PipelineSpec;
};

/** A new alert id: time-ordered and readable (`a-<base36 ms>-<6 hex>`). */
const newAlertId = () => `a-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** The body POSTed to a webhook (and the fields of `alert.raised`), as JSON. */
export function alertBody(a: AlertRow): string {
  return JSON.stringify({ alertId: a.id, pipeline: a.pipeline, kind: a.kind, runId: a.run_id ?? '', summary: a.summary, details: a.details, occurredAt: a.created_at.toISOString() });
}

/** What raising an alert uses: the outbox and the log. */
export type AlertDeps = Pick<ServiceRuntime, 'publish' | 'logger'>;

/**
 * Records an alert, queues its delivery to each webhook of the pipeline that wants its kind and
 * publishes `alert.raised` — all in `tx`, so the alert exists, is announced and will be delivered
 * exactly when the change that raised it commits. Nothing happens for an unknown pipeline or a
 * source that already raised its alert. Never waits on a webhook: delivery is the worker's.
 */
export async function raiseAlert(rt: AlertDeps, tx: pg.PoolClient, a: AlertInput): Promise<AlertRow | undefined> {
  let spec = a.spec;
  if (!spec) {
    const pipeline = await getPipeline(tx, a.pipeline);
    if (!pipeline) return undefined;
    spec = specFromJson(pipeline.spec_json);
  }
  const row = await insertAlert(tx, { id: newAlertId(), pipeline: a.pipeline, kind: a.kind, run_id: a.runId || null, summary: a.summary, details: a.details, source_key: a.sourceKey });
  if (!row) return undefined;
  const { retry } = spec.alerts;
  for (const w of spec.alerts.webhooks) {
    if (w.kinds && !w.kinds.includes(a.kind)) continue;
    await insertDelivery(tx, { alertId: row.id, webhook: w.name, url: w.url, secretEnv: w.secretEnv, ...retry });
  }
  await rt.publish(
    tx,
    EVENTS.alertRaised,
    { alertId: row.id, pipeline: row.pipeline, kind: row.kind, runId: row.run_id ?? '', summary: row.summary, detailsJson: JSON.stringify(row.details), details: alertDetailsFromJson(row.kind, row.details), occurredAt: timestampFromDate(row.created_at) },
    { runId: row.run_id ?? undefined },
  );
  rt.logger.info({ alertId: row.id, pipeline: row.pipeline, kind: row.kind, runId: row.run_id }, `alert: ${row.summary}`);
  return row;
}

/** What became of a fired drift or performance policy (see `decide`). */
export type FiredPolicy = {
  pipeline: string;
  spec: PipelineSpec;
  policy: string;
  decisionId: string;
  action: string;
  /** The decision's sentence (what was measured, and what hygiene did). */
  reason: string;
  runId?: string;
  measured: unknown;
  thresholds: unknown;
  /** The condition has not yet held for `hygiene.debounce` consecutive evaluations. */
  debouncing: boolean;
};

const POLICY_ALERT: Record<string, AlertKind | undefined> = { drift: 'drift-trigger', performance: 'performance-trigger', business: 'performance-trigger' };

/**
 * Raises `drift-trigger` or `performance-trigger` for a fired policy: once per decision, when the
 * condition counts (not while debouncing) and the decision is new news (not when it joins a run
 * already in flight, whose own trigger alerted). A budget or cool-down that suppresses the retrain
 * still alerts: the model is drifting and nothing retrains it.
 */
export async function alertOnFiredPolicy(rt: AlertDeps, tx: pg.PoolClient, f: FiredPolicy): Promise<void> {
  const kind = POLICY_ALERT[f.policy];
  if (!kind || f.debouncing || f.action === 'coalesce') return;
  await raiseAlert(rt, tx, {
    pipeline: f.pipeline,
    spec: f.spec,
    kind,
    runId: f.runId,
    summary: `${f.policy} policy fired: ${f.reason}`,
    details: { decisionId: f.decisionId, policy: f.policy, action: f.action, measured: f.measured, thresholds: f.thresholds },
    sourceKey: `decision:${f.decisionId}`,
  });
}

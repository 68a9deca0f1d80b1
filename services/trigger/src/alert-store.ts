import type pg from 'pg';

type Q = pg.Pool | pg.PoolClient;

/** An alert row. */
export type AlertRow = {
  id: string;
  pipeline: string;
  kind: string;
  run_id: string | null;
  summary: string;
  details: Record<string, unknown>;
  source_key: string;
  created_at: Date;
};

/** A webhook delivery row. */
export type DeliveryRow = {
  id: string;
  alert_id: string;
  webhook: string;
  url: string;
  secret_env: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  max_attempts: number;
  backoff_ms: number;
  max_backoff_ms: number;
  timeout_ms: number;
  next_attempt_at: Date;
  last_http_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
};

/** One recorded attempt of a delivery. */
export type AttemptRow = { delivery_id: string; attempt: number; started_at: Date; duration_ms: number; http_status: number | null; error: string | null };

/** A delivery claimed by the worker, with the alert it carries. */
export type ClaimedDelivery = DeliveryRow & { alert: AlertRow };

/** Inserts an alert unless its source already raised one; returns it only when it is new. */
export async function insertAlert(db: Q, a: Omit<AlertRow, 'created_at'> & { created_at?: Date }): Promise<AlertRow | undefined> {
  const r = await db.query<AlertRow>(
    `insert into alerts (id, pipeline, kind, run_id, summary, details, source_key, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now())) on conflict (source_key) do nothing returning *`,
    [a.id, a.pipeline, a.kind, a.run_id, a.summary, JSON.stringify(a.details), a.source_key, a.created_at ?? null],
  );
  return r.rows[0];
}

/** Queues the delivery of an alert to one webhook, due now. */
export async function insertDelivery(
  db: Q,
  d: { alertId: string; webhook: string; url: string; secretEnv: string; maxAttempts: number; backoffMs: number; maxBackoffMs: number; timeoutMs: number },
): Promise<void> {
  await db.query(
    `insert into alert_deliveries (alert_id, webhook, url, secret_env, max_attempts, backoff_ms, max_backoff_ms, timeout_ms)
     values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (alert_id, webhook) do nothing`,
    [d.alertId, d.webhook, d.url, d.secretEnv, d.maxAttempts, d.backoffMs, d.maxBackoffMs, d.timeoutMs],
  );
}

/**
 * Claims up to `limit` due deliveries: each is leased (its next attempt pushed past its timeout
 * plus `leaseMarginMs`) so no other replica takes it while the HTTP call runs outside any
 * transaction; if this process dies mid-call the lease runs out and the delivery is tried again.
 */
export async function claimDue(db: Q, limit: number, leaseMarginMs: number): Promise<ClaimedDelivery[]> {
  const r = await db.query<DeliveryRow & { a: AlertRow }>(
    `with due as (
       select id from alert_deliveries where status = 'pending' and next_attempt_at <= now()
       order by next_attempt_at limit $1 for update skip locked)
     update alert_deliveries d set next_attempt_at = now() + (d.timeout_ms + $2) * interval '1 millisecond'
     from due, alerts a where d.id = due.id and a.id = d.alert_id
     returning d.*, to_jsonb(a) as a`,
    [limit, leaseMarginMs],
  );
  return r.rows.map(({ a, ...d }) => ({ ...d, alert: { ...a, created_at: new Date(a.created_at) } }));
}

/** How one attempt ended. */
export type AttemptResult = {
  attempt: number;
  startedAt: Date;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
  /** delivered, failed for good, or tried again after `retryInMs`. */
  outcome: 'delivered' | 'failed' | 'retry';
  retryInMs?: number;
};

/** Records an attempt and moves its delivery on (delivered, failed, or due again later). */
export async function finishAttempt(db: pg.PoolClient, deliveryId: string, a: AttemptResult): Promise<void> {
  await db.query(
    `insert into alert_attempts (delivery_id, attempt, started_at, duration_ms, http_status, error) values ($1, $2, $3, $4, $5, $6)
     on conflict (delivery_id, attempt) do nothing`,
    [deliveryId, a.attempt, a.startedAt, a.durationMs, a.httpStatus, a.error],
  );
  await db.query(
    `update alert_deliveries set attempts = $2, last_http_status = $3, last_error = $4, status = $5,
       delivered_at = case when $5 = 'delivered' then now() else delivered_at end,
       next_attempt_at = case when $5 = 'pending' then now() + $6 * interval '1 millisecond' else next_attempt_at end
     where id = $1`,
    [deliveryId, a.attempt, a.httpStatus, a.error, a.outcome === 'retry' ? 'pending' : a.outcome, a.retryInMs ?? 0],
  );
}

/** The latest alerts of a pipeline, newest first. */
export async function listAlerts(db: Q, pipeline: string, limit: number): Promise<AlertRow[]> {
  return (await db.query<AlertRow>('select * from alerts where pipeline = $1 order by created_at desc, id desc limit $2', [pipeline, limit])).rows;
}

/** The deliveries of these alerts, by webhook name. */
export async function deliveriesOf(db: Q, alertIds: string[]): Promise<DeliveryRow[]> {
  if (alertIds.length === 0) return [];
  return (await db.query<DeliveryRow>('select * from alert_deliveries where alert_id = any($1) order by alert_id, webhook', [alertIds])).rows;
}

/** Every attempt of a delivery, in order. */
export async function attemptsOf(db: Q, deliveryId: string): Promise<AttemptRow[]> {
  return (await db.query<AttemptRow>('select * from alert_attempts where delivery_id = $1 order by attempt', [deliveryId])).rows;
}

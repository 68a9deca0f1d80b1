/**
 * The `consumer_attempts` table: per consumer and unhandled event, how many deliveries started
 * or failed, how many of those ended in a recorded outcome, how many failures count toward
 * maxDeliver and when the first failure was (Postgres' clock, shared by every replica).
 */
import type pg from 'pg';
import { withTransaction } from '../pg/pool.js';

/** An event's attempts so far. */
export interface AttemptRow {
  /** Deliveries that were claimed or failed. */
  attempts: number;
  /** Of those, how many ended in a recorded retry or hand-back. */
  outcomes: number;
  /** Failures that count toward maxDeliver. */
  failures: number;
  /** ms since the first failure (0 when none). */
  failingMs: number;
}

type Row = { attempts: number; outcomes: number; failures: number; failing_ms: number | null };
const toRow = (r: Row): AttemptRow => ({ attempts: r.attempts, outcomes: r.outcomes, failures: r.failures, failingMs: Math.max(0, Number(r.failing_ms ?? 0)) });
const RETURNING = `RETURNING attempts, outcomes, failures, (extract(epoch FROM now() - first_failure_at) * 1000)::float8 AS failing_ms`;

/** The outcome of {@link claimAttempt}. */
export type Claim = { handled: true } | { handled: false; row: AttemptRow };

/**
 * Starts an attempt: reports an event already handled by this consumer, else counts the attempt
 * and returns the history (so deliveries that ended without an outcome — a crash — show up).
 */
export async function claimAttempt(pool: pg.Pool, consumer: string, eventId: string): Promise<Claim> {
  return withTransaction(pool, async (tx) => {
    const done = await tx.query('SELECT 1 FROM handled_events WHERE consumer = $1 AND event_id = $2', [consumer, eventId]);
    if (done.rowCount) return { handled: true };
    const { rows } = await tx.query<Row>(
      `INSERT INTO consumer_attempts (consumer, event_id, attempts) VALUES ($1, $2, 1)
       ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = consumer_attempts.attempts + 1, updated_at = now()
       ${RETURNING}`,
      [consumer, eventId],
    );
    return { handled: false, row: toRow(rows[0]) };
  });
}

/** Records a failed attempt (counted toward maxDeliver or not) and returns the history. */
export async function recordFailure(pool: pg.Pool, o: { consumer: string; eventId: string; claimed: boolean; counted: boolean; error: string }): Promise<AttemptRow> {
  const { rows } = await pool.query<Row>(
    `INSERT INTO consumer_attempts AS a (consumer, event_id, attempts, outcomes, failures, first_failure_at, last_error)
     VALUES ($1, $2, 1, 1, $3, now(), $4)
     ON CONFLICT (consumer, event_id) DO UPDATE SET
       attempts = a.attempts + $5, outcomes = a.outcomes + 1, failures = a.failures + $3,
       first_failure_at = coalesce(a.first_failure_at, now()), last_error = $4, updated_at = now()
     ${RETURNING}`,
    [o.consumer, o.eventId, o.counted ? 1 : 0, o.error.slice(0, 2000), o.claimed ? 0 : 1],
  );
  return toRow(rows[0]);
}

/** Records that an attempt was handed back unfinished (shutdown): an outcome, not a failure. */
export async function recordHandBack(pool: pg.Pool, o: { consumer: string; eventId: string; claimed: boolean }): Promise<void> {
  await pool.query(
    `INSERT INTO consumer_attempts AS a (consumer, event_id, attempts, outcomes) VALUES ($1, $2, 1, 1)
     ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = a.attempts + $3, outcomes = a.outcomes + 1, updated_at = now()`,
    [o.consumer, o.eventId, o.claimed ? 0 : 1],
  );
}

/** Forgets an event's attempts; call in the transaction that handles or dead-letters it. */
export async function clearAttempts(tx: pg.ClientBase, consumer: string, eventId: string): Promise<void> {
  await tx.query('DELETE FROM consumer_attempts WHERE consumer = $1 AND event_id = $2', [consumer, eventId]);
}

import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { storedThreshold } from '@refit/ml';
import { withTransaction, type ArtifactStore, type Logger, type PgPool } from '@refit/platform';

/**
 * One served prediction; `championProbability` is the champion's score of a row a canary or A/B
 * candidate answered, `championThreshold` the champion's threshold then.
 */
export type LoggedPrediction = {
  id: string;
  pipeline: string;
  version: string;
  variant: string;
  probability: number;
  latencyMs: number;
  at: Date;
  shadowVersion?: string;
  shadowProbability?: number;
  championProbability?: number;
  championThreshold?: number;
  /** The threshold the answer was decided at (and the shadow's). Default 0.5. */
  threshold?: number;
  shadowThreshold?: number;
  /** The shadow's latency for this row: its share of the call outside the models plus its own scoring time per row. */
  shadowLatencyMs?: number;
  /** The raw row, kept when the pipeline trains on feedback (data.include: [feedback]). */
  row?: unknown;
};

/** Rows a served version failed to score in one Predict call. */
export type LoggedFailure = { pipeline: string; version: string; variant: string; rows: number; at: Date };

/**
 * Logs predictions without slowing Predict down: rows are buffered and written in one statement
 * every `flushMs` (or as soon as `maxBuffer` rows wait). A crash loses at most one interval.
 */
export class PredictionLog {
  readonly #pool: PgPool;
  readonly #logger: Logger;
  readonly #maxBuffer: number;
  #buffer: LoggedPrediction[] = [];
  #failures: LoggedFailure[] = [];
  #flushing: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  constructor(opts: { pool: PgPool; logger: Logger; flushMs?: number; maxBuffer?: number }) {
    this.#pool = opts.pool;
    this.#logger = opts.logger;
    this.#maxBuffer = opts.maxBuffer ?? 5000;
    this.#timer = setInterval(() => void this.flush(), opts.flushMs ?? 100);
    this.#timer.unref();
  }

  /** Queues predictions for writing. */
  add(rows: LoggedPrediction[]): void {
    for (const r of rows) this.#buffer.push(r);
    if (this.#buffer.length >= this.#maxBuffer) void this.flush();
  }

  /** Queues a scoring failure for writing (written with the next flush). */
  addFailure(f: LoggedFailure): void {
    this.#failures.push(f);
  }

  /** Writes everything queued so far (feedback calls this first so a fresh prediction can be joined). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      await this.#flushFailures();
      if (this.#buffer.length === 0) return;
      const rows = this.#buffer;
      this.#buffer = [];
      try {
        // Array literals built in one pass: pg's own array encoding escapes element by element
        // and turns every Date into a string, which cost the serving thread twice as much.
        await this.#pool.query(
          `insert into predictions (prediction_id, pipeline, version, variant, probability, latency_ms, created_at, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold)
           select id, pipeline, version, variant, probability, latency_ms, to_timestamp(at_ms / 1000), shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold
           from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::text[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[])
             as u(id, pipeline, version, variant, probability, latency_ms, at_ms, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold)
           on conflict do nothing`,
          [
            pgArray(rows.map((r) => r.id)),
            pgArray(rows.map((r) => r.pipeline)),
            pgArray(rows.map((r) => r.version)),
            pgArray(rows.map((r) => r.variant)),
            pgArray(rows.map((r) => r.probability)),
            pgArray(rows.map((r) => r.latencyMs)),
            pgArray(rows.map((r) => r.at.getTime())),
            pgArray(rows.map((r) => r.shadowVersion ?? null)),
            pgArray(rows.map((r) => r.shadowProbability ?? null)),
            pgArray(rows.map((r) => r.championProbability ?? null)),
            pgArray(rows.map((r) => storedThreshold(r.threshold))),
            pgArray(rows.map((r) => (r.shadowVersion === undefined ? null : storedThreshold(r.shadowThreshold)))),
            pgArray(rows.map((r) => r.shadowLatencyMs ?? null)),
            pgArray(rows.map((r) => (r.championProbability === undefined ? null : storedThreshold(r.championThreshold)))),
          ],
        );
        const kept = rows.filter((r) => r.row !== undefined);
        if (kept.length > 0) {
          await this.#pool.query(
            `insert into prediction_rows (prediction_id, pipeline, row)
             select * from unnest($1::uuid[], $2::text[], $3::jsonb[]) on conflict do nothing`,
            [kept.map((r) => r.id), kept.map((r) => r.pipeline), kept.map((r) => JSON.stringify(r.row))],
          );
        }
      } catch (err) {
        // Keep them for the next attempt rather than drop them (both inserts are idempotent).
        this.#buffer = rows.concat(this.#buffer);
        this.#logger.warn({ err, rows: rows.length }, 'could not write the prediction log; will retry');
      }
    });
    return this.#flushing;
  }

  async #flushFailures(): Promise<void> {
    if (this.#failures.length === 0) return;
    const rows = this.#failures;
    this.#failures = [];
    try {
      await this.#pool.query(
        `insert into prediction_errors (pipeline, version, variant, rows, created_at)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])`,
        [rows.map((r) => r.pipeline), rows.map((r) => r.version), rows.map((r) => r.variant), rows.map((r) => r.rows), rows.map((r) => r.at)],
      );
    } catch (err) {
      this.#failures = rows.concat(this.#failures);
      this.#logger.warn({ err, failures: rows.length }, 'could not write prediction failures; will retry');
    }
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

/**
 * A Postgres array literal of strings (quoted, `"` and `\\` escaped), numbers (shortest
 * round-trip form, so float8 reads back the same double) and nulls.
 */
export function pgArray(values: ReadonlyArray<string | number | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null) out += 'NULL';
    else if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    else out += `"${v.replace(/["\\]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

/** What one SendFeedback did: see {@link joinFeedback}. */
export type FeedbackJoin = { joined: number; unknown: string[]; duplicate: number; conflict: number; conflicting: string[] };

/**
 * Joins true labels to logged predictions of `pipeline`. The first label for a prediction wins
 * (within a request, the first entry; across requests, the one that committed first): later
 * feedback for a labeled prediction is `duplicate` when it says the same (the label, and the
 * label value when both carry one), `conflict` otherwise. Both are counted on the prediction
 * (feedback_duplicates, feedback_conflicts), and a conflict is kept in feedback_conflicts with
 * the label it contradicts, so nothing a caller sent is lost and no label is silently replaced.
 */
export async function joinFeedback(
  pool: PgPool,
  pipeline: string,
  feedback: Array<{ predictionId: string; label: number; labelValue?: string }>,
  at: Date,
): Promise<FeedbackJoin> {
  const idOf = (f: { predictionId: string }) => f.predictionId.toLowerCase();
  const first = new Map<string, number>();
  feedback.forEach((f, i) => {
    if (!first.has(idOf(f))) first.set(idOf(f), i);
  });
  const firsts = [...first.values()].map((i) => feedback[i]);
  return withTransaction(pool, async (tx) => {
    const joined = await tx.query<{ prediction_id: string }>(
      `update predictions p set feedback_label = f.label, feedback_at = $4, feedback_value = f.value, window_labeled = false
       from unnest($2::uuid[], $3::float8[], $5::text[]) as f(id, label, value)
       where p.prediction_id = f.id and p.pipeline = $1 and p.feedback_at is null
       returning p.prediction_id`,
      [pipeline, firsts.map(idOf), firsts.map((f) => f.label), at, firsts.map((f) => f.labelValue || null)],
    );
    const joinedIds = new Set(joined.rows.map((r) => r.prediction_id));
    const known = await tx.query<{ prediction_id: string; feedback_label: number; feedback_value: string | null }>(
      'select prediction_id, feedback_label, feedback_value from predictions where pipeline = $1 and prediction_id = any($2::uuid[]) for update',
      [pipeline, [...first.keys()]],
    );
    const labelOf = new Map(known.rows.map((r) => [r.prediction_id, r]));
    const out: FeedbackJoin = { joined: joinedIds.size, unknown: [], duplicate: 0, conflict: 0, conflicting: [] };
    const counts = new Map<string, { duplicates: number; conflicts: number }>();
    const conflicts: Array<{ id: string; label: number; value: string | null; joinedLabel: number; joinedValue: string | null }> = [];
    feedback.forEach((f, i) => {
      const id = idOf(f);
      const stored = labelOf.get(id);
      if (!stored) {
        if (first.get(id) === i) out.unknown.push(f.predictionId);
        return;
      }
      if (first.get(id) === i && joinedIds.has(id)) return;
      const c = counts.get(id) ?? { duplicates: 0, conflicts: 0 };
      counts.set(id, c);
      const value = f.labelValue || null;
      const same = stored.feedback_label === f.label && (value === null || stored.feedback_value === null || value === stored.feedback_value);
      if (same) {
        out.duplicate++;
        c.duplicates++;
        return;
      }
      out.conflict++;
      c.conflicts++;
      if (!out.conflicting.includes(f.predictionId)) out.conflicting.push(f.predictionId);
      conflicts.push({ id, label: f.label, value, joinedLabel: stored.feedback_label, joinedValue: stored.feedback_value });
    });
    if (counts.size > 0) {
      const ids = [...counts.keys()];
      await tx.query(
        `update predictions p set feedback_duplicates = p.feedback_duplicates + c.d, feedback_conflicts = p.feedback_conflicts + c.k
         from unnest($1::uuid[], $2::int[], $3::int[]) as c(id, d, k) where p.prediction_id = c.id`,
        [ids, ids.map((id) => counts.get(id)?.duplicates ?? 0), ids.map((id) => counts.get(id)?.conflicts ?? 0)],
      );
    }
    if (conflicts.length > 0) {
      await tx.query(
        `insert into feedback_conflicts (pipeline, prediction_id, label, label_value, joined_label, joined_value, at)
         select $1, c.id, c.label, c.value, c.joined_label, c.joined_value, $7
           from unnest($2::uuid[], $3::float8[], $4::text[], $5::float8[], $6::text[]) as c(id, label, value, joined_label, joined_value)`,
        [pipeline, conflicts.map((c) => c.id), conflicts.map((c) => c.label), conflicts.map((c) => c.value), conflicts.map((c) => c.joinedLabel), conflicts.map((c) => c.joinedValue), at],
      );
    }
    return out;
  });
}

/** What one {@link archiveOldPredictions} pass did. */
export type ArchivePass = { archived: number; objects: Array<{ key: string; rows: number }> };

/**
 * Moves predictions made before `before` out of Postgres: each chunk of up to `chunk` rows (oldest
 * first, with their feedback) is written to the object store as gzipped JSON lines under
 * `pipelines/<pipeline>/prediction-archive/`, and only then deleted, in one transaction per chunk —
 * so the table stays bounded and nothing is lost. Failures in the log (`prediction_errors`) older
 * than `before` are deleted with them (their counts are in the monitoring windows already).
 */
export async function archiveOldPredictions(pool: PgPool, store: ArtifactStore, before: Date, chunk = 50_000): Promise<ArchivePass> {
  const out: ArchivePass = { archived: 0, objects: [] };
  for (;;) {
    const moved = await withTransaction(pool, async (tx) => {
      const old = await tx.query<Record<string, unknown> & { prediction_id: string; pipeline: string }>(
        `select p.*, r.row from predictions p left join prediction_rows r using (prediction_id)
          where p.created_at < $1 order by p.created_at limit $2 for update of p skip locked`,
        [before, chunk],
      );
      if (old.rows.length === 0) return 0;
      const byPipeline = new Map<string, typeof old.rows>();
      for (const r of old.rows) byPipeline.set(r.pipeline, [...(byPipeline.get(r.pipeline) ?? []), r]);
      for (const [pipeline, rows] of byPipeline) {
        const body = gzipSync(Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
        const ref = await store.putContentAddressed(`pipelines/${pipeline}/prediction-archive`, body, '.jsonl.gz');
        out.objects.push({ key: ref.key, rows: rows.length });
      }
      await tx.query('delete from prediction_rows where prediction_id = any($1::uuid[])', [old.rows.map((r) => r.prediction_id)]);
      await tx.query('delete from predictions where prediction_id = any($1::uuid[])', [old.rows.map((r) => r.prediction_id)]);
      return old.rows.length;
    });
    out.archived += moved;
    if (moved < chunk) break;
  }
  await pool.query('delete from prediction_errors where created_at < $1', [before]);
  await pool.query('delete from monitoring_windows where window_end < $1', [before]);
  return out;
}

/**
 * Archives predictions older than `days` now and then every `everyMs`, until `signal` aborts (the
 * deployer runs it under a lease: one replica at a time). A failed pass is logged and retried at
 * the next one; `days` 0 keeps everything.
 */
export async function runPredictionRetention(pool: PgPool, store: ArtifactStore, logger: Logger, days: number, signal: AbortSignal, everyMs = 3_600_000): Promise<void> {
  while (!signal.aborted) {
    if (days > 0) {
      try {
        const r = await archiveOldPredictions(pool, store, new Date(Date.now() - days * 86_400_000));
        if (r.archived > 0) logger.info({ archived: r.archived, objects: r.objects.map((o) => o.key) }, `archived predictions older than ${days} days to the object store`);
      } catch (err) {
        logger.warn({ err }, 'could not archive old predictions; will try again');
      }
    }
    await sleep(everyMs, undefined, { signal }).catch(() => undefined);
  }
}

import { gzipSync } from 'node:zlib';
import { storedThreshold } from '@refit/ml';
import { withTransaction, type ArtifactStore, type Logger, type PgPool } from '@refit/platform';

/**
 * One served prediction; `championProbability` is the champion's score of a row a canary or A/B
 * candidate answered.
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
  /** The threshold the answer was decided at (and the shadow's). Default 0.5. */
  threshold?: number;
  shadowThreshold?: number;
  /** The shadow's latency for this row: its share of the call outside the models plus its own scoring time per row. */
  shadowLatencyMs?: number;
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
          `insert into predictions (prediction_id, pipeline, version, variant, probability, latency_ms, created_at, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms)
           select id, pipeline, version, variant, probability, latency_ms, to_timestamp(at_ms / 1000), shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms
           from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::text[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[])
             as u(id, pipeline, version, variant, probability, latency_ms, at_ms, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms)
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
          ],
        );
      } catch (err) {
        // Keep them for the next attempt rather than drop them.
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

/** Joins true labels to logged predictions; returns the ids that are not in the log. */
export async function joinFeedback(pool: PgPool, pipeline: string, feedback: Array<{ predictionId: string; label: number }>, at: Date): Promise<{ joined: number; unknown: string[] }> {
  const ids = feedback.map((f) => f.predictionId);
  const r = await pool.query<{ prediction_id: string }>(
    `update predictions p set feedback_label = f.label, feedback_at = $4
     from unnest($2::uuid[], $3::float8[]) as f(id, label)
     where p.prediction_id = f.id and p.pipeline = $1
     returning p.prediction_id`,
    [pipeline, ids, feedback.map((f) => f.label), at],
  );
  const found = new Set(r.rows.map((x) => x.prediction_id));
  return { joined: found.size, unknown: ids.filter((id) => !found.has(id)) };
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
        `select * from predictions where created_at < $1 order by created_at limit $2 for update skip locked`,
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
      await tx.query('delete from predictions where prediction_id = any($1::uuid[])', [old.rows.map((r) => r.prediction_id)]);
      return old.rows.length;
    });
    out.archived += moved;
    if (moved < chunk) break;
  }
  await pool.query('delete from prediction_errors where created_at < $1', [before]);
  return out;
}

/** Archives predictions older than `days` now and then every `everyMs` (default hourly); `days` 0 never does. */
export function startPredictionRetention(pool: PgPool, store: ArtifactStore, logger: Logger, days: number, everyMs = 3_600_000): { stop(): Promise<void> } {
  if (days <= 0) return { stop: async () => undefined };
  let running: Promise<unknown> = Promise.resolve();
  const pass = () => {
    running = running
      .then(async () => {
        const r = await archiveOldPredictions(pool, store, new Date(Date.now() - days * 86_400_000));
        if (r.archived > 0) logger.info({ archived: r.archived, objects: r.objects.map((o) => o.key) }, `archived predictions older than ${days} days to the object store`);
      })
      .catch((err: unknown) => logger.warn({ err }, 'could not archive old predictions; will try again'));
  };
  pass();
  const timer = setInterval(pass, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { storedThreshold } from '@refit/ml';
import { withTransaction, type ArtifactStore, type Logger, type PgPool } from '@refit/platform';
import { HAS_CHAMPION_PROBABILITY, HAS_SHADOW_LATENCY, HAS_SHADOW_PROBABILITY, type LoggedFailure, type LogReply, type LogRequest, type LogWorkerData, type PredictionColumns } from './prediction-log-writer.js';

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
  /** The raw row, kept when the pipeline trains on feedback (data.include: [feedback]) or reads a stream (data.source.stream). */
  row?: unknown;
};

export type { LoggedFailure } from './prediction-log-writer.js';
export { pgArray } from './prediction-log-writer.js';

/** What the log has done since it started: see {@link PredictionLog.stats}. */
export type PredictionLogStats = {
  /** Rows handed to the log and not yet written (buffered, or with the writer). */
  queued: number;
  /** Rows written to Postgres. */
  written: number;
  /** Rows refused because `maxQueued` rows were waiting already (never written: counted and logged). */
  dropped: number;
  /** Write attempts that failed (their rows are kept and retried). */
  failedWrites: number;
  /** Times the writer thread was started again after it died. */
  restarts: number;
};

/** Options of {@link PredictionLog}. */
export type PredictionLogOptions = {
  /** Where the writer thread connects (the deployer's own database and schema). */
  db: LogWorkerData;
  logger: Logger;
  /** How often buffered rows go to the writer, in ms (default 100; a full batch goes at once). */
  flushMs?: number;
  /** Most rows waiting to be written before new ones are dropped (default 200,000, about 30 MB). */
  maxQueued?: number;
  /** Told about rows written and dropped (the service counts them in its metrics). */
  observer?: { written?(rows: number): void; dropped?(rows: number): void };
};

/** Rows that go to the writer as soon as this many wait, without waiting for the timer. */
const BATCH_ROWS = 4096;
/** Rows about 150 bytes each in columns: the default bound is ~30 MB. */
export const DEFAULT_MAX_QUEUED = 200_000;
const DROP_WARN_EVERY_MS = 10_000;

type Outstanding = { request: LogRequest; rows: number };

/**
 * The prediction log. Predict only appends each served row to columns (typed arrays, a string
 * dictionary) in `add`, which never waits; a writer thread (prediction-log-worker.ts) with its
 * own Postgres connections writes them. The queue is bounded (`maxQueued` rows, counting those
 * with the writer): past it new rows are dropped, counted (`stats().dropped`, the
 * `refit_prediction_log_dropped_rows_total` metric) and logged, never blocking a call. Rows stay
 * with this side until the writer says they were written, so a writer that dies is started
 * again and given them again (the inserts are idempotent). A crash of the process loses at most
 * what was queued.
 */
export class PredictionLog {
  readonly #db: LogWorkerData;
  readonly #logger: Logger;
  readonly #maxQueued: number;
  readonly #observer: PredictionLogOptions['observer'];
  #batch: ColumnsBuilder = new ColumnsBuilder(1024);
  #failures: LoggedFailure[] = [];
  #seq = 0;
  /** Requests sent to the writer and not yet answered, by sequence number (insertion order = send order). */
  readonly #outstanding = new Map<number, Outstanding>();
  readonly #flushWaiters = new Map<number, () => void>();
  #sentRows = 0;
  #worker: Worker | undefined;
  #closing = false;
  #restartTimer: NodeJS.Timeout | undefined;
  // Counts only: `queued` is derived from what is buffered and with the writer.
  #stats: Omit<PredictionLogStats, 'queued'> = { written: 0, dropped: 0, failedWrites: 0, restarts: 0 };
  #lastDropWarning = 0;
  #droppedSinceWarning = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(opts: PredictionLogOptions) {
    this.#db = { url: opts.db.url, schema: opts.db.schema };
    this.#logger = opts.logger;
    this.#maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.#observer = opts.observer;
    this.#timer = setInterval(() => this.#send(), opts.flushMs ?? 100);
    this.#timer.unref();
    this.#worker = this.#start();
  }

  /**
   * Queues predictions for writing; drops them (counted, logged) when `maxQueued` rows wait
   * already, or the log is closed.
   */
  add(rows: readonly LoggedPrediction[]): void {
    if (this.#closing || this.#sentRows + this.#batch.n + rows.length > this.#maxQueued) {
      this.#drop(rows.length);
      return;
    }
    for (const r of rows) this.#batch.push(r);
    if (this.#batch.n >= BATCH_ROWS) this.#send();
  }

  /** Queues a scoring failure for writing (sent with the next batch). */
  addFailure(f: LoggedFailure): void {
    this.#failures.push(f);
  }

  /** Counts of rows queued, written and dropped since this log started. */
  stats(): PredictionLogStats {
    return { ...this.#stats, queued: this.#sentRows + this.#batch.n };
  }

  /**
   * Resolves once everything queued before the call was written, or a write of it failed (then it
   * is retried: feedback calls this first so a fresh prediction can be joined, and goes on).
   */
  flush(): Promise<void> {
    this.#send();
    const seq = ++this.#seq;
    const done = new Promise<void>((resolve) => this.#flushWaiters.set(seq, resolve));
    this.#post({ request: { type: 'flush', seq }, rows: 0 });
    return done;
  }

  /** Writes what is queued, then stops the writer thread. */
  async close(): Promise<void> {
    if (this.#closing) return;
    clearInterval(this.#timer);
    await this.flush();
    this.#closing = true;
    clearTimeout(this.#restartTimer);
    const w = this.#worker;
    this.#worker = undefined;
    if (this.#sentRows > 0) this.#logger.warn({ rows: this.#sentRows }, 'the prediction log closes with rows it could not write');
    if (w) {
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ type: 'close' });
      const timeout = setTimeout(() => void w.terminate(), 5_000);
      await exited;
      clearTimeout(timeout);
    }
    for (const resolve of this.#flushWaiters.values()) resolve();
    this.#flushWaiters.clear();
  }

  /** The writer thread (tests stop it to see the log recover). */
  get worker(): Worker | undefined {
    return this.#worker;
  }

  #drop(rows: number): void {
    this.#stats.dropped += rows;
    this.#droppedSinceWarning += rows;
    this.#observer?.dropped?.(rows);
    const now = Date.now();
    if (now - this.#lastDropWarning >= DROP_WARN_EVERY_MS) {
      this.#logger.warn(
        { dropped: this.#droppedSinceWarning, queued: this.#sentRows + this.#batch.n, maxQueued: this.#maxQueued },
        'the prediction log is full (Postgres is not keeping up or is unreachable): predictions were answered but not logged; see refit_prediction_log_dropped_rows_total',
      );
      this.#lastDropWarning = now;
      this.#droppedSinceWarning = 0;
    }
  }

  /** Hands the current batch and failures to the writer. */
  #send(): void {
    if (this.#failures.length > 0) {
      const failures = this.#failures;
      this.#failures = [];
      this.#post({ request: { type: 'failures', seq: ++this.#seq, failures }, rows: 0 });
    }
    if (this.#batch.n === 0) return;
    const columns = this.#batch.finish();
    this.#batch = new ColumnsBuilder(Math.max(1024, Math.min(BATCH_ROWS, columns.n)));
    this.#sentRows += columns.n;
    this.#post({ request: { type: 'predictions', seq: ++this.#seq, columns }, rows: columns.n });
  }

  #post(o: Outstanding): void {
    this.#outstanding.set(o.request.seq, o);
    this.#worker?.postMessage(o.request);
  }

  #start(): Worker {
    // Built (.js), or from source (.ts): then through tsx's API with the libraries' source condition.
    const source = import.meta.url.endsWith('.ts');
    const worker = source
      ? new Worker(new URL('./prediction-log-worker.source.mjs', import.meta.url), { workerData: this.#db, execArgv: ['--conditions=@refit/source'] })
      : new Worker(new URL('./prediction-log-worker.js', import.meta.url), { workerData: this.#db });
    worker.unref();
    worker.on('message', (m: LogReply) => this.#onReply(m));
    worker.on('error', (err) => this.#logger.error({ err }, 'the prediction log writer failed'));
    worker.on('exit', (code) => {
      if (this.#closing || this.#worker !== worker) return;
      this.#worker = undefined;
      this.#stats.restarts++;
      this.#logger.error({ code, unwritten: this.#sentRows }, 'the prediction log writer exited; starting it again with the rows it had not written');
      this.#restartTimer = setTimeout(() => {
        if (this.#closing) return;
        const next = this.#start();
        this.#worker = next;
        for (const o of this.#outstanding.values()) next.postMessage(o.request);
      }, Math.min(5_000, 100 * this.#stats.restarts));
      this.#restartTimer.unref();
    });
    return worker;
  }

  #onReply(m: LogReply): void {
    if (m.type === 'written') {
      let rows = 0;
      for (const seq of m.seqs) {
        rows += this.#outstanding.get(seq)?.rows ?? 0;
        this.#outstanding.delete(seq);
      }
      this.#sentRows -= rows;
      this.#stats.written += rows;
      if (rows > 0) this.#observer?.written?.(rows);
    } else if (m.type === 'flushed') {
      this.#outstanding.delete(m.seq);
      this.#flushWaiters.get(m.seq)?.();
      this.#flushWaiters.delete(m.seq);
    } else if (m.type === 'failed') {
      this.#stats.failedWrites++;
      this.#logger.warn({ err: m.message, rows: m.rows, retryInMs: m.retryInMs }, 'could not write the prediction log; will retry');
    }
  }
}

/** Appends served predictions to growing columns (see {@link PredictionColumns}). */
class ColumnsBuilder {
  n = 0;
  #cap: number;
  readonly #codes = new Map<string, number>();
  readonly #dict: string[] = [];
  readonly #ids: string[] = [];
  readonly #rows: Array<[number, unknown]> = [];
  #ints: Record<IntColumn, Int32Array>;
  #floats: Record<FloatColumn, Float64Array>;
  #present: Uint8Array;

  constructor(cap: number) {
    this.#cap = cap;
    this.#ints = { pipeline: new Int32Array(cap), version: new Int32Array(cap), variant: new Int32Array(cap), shadowVersion: new Int32Array(cap) };
    this.#floats = Object.fromEntries(FLOAT_COLUMNS.map((c) => [c, new Float64Array(cap)])) as Record<FloatColumn, Float64Array>;
    this.#present = new Uint8Array(cap);
  }

  push(r: LoggedPrediction): void {
    if (this.n === this.#cap) this.#grow();
    const i = this.n++;
    this.#ids.push(r.id);
    const ints = this.#ints;
    ints.pipeline[i] = this.#code(r.pipeline);
    ints.version[i] = this.#code(r.version);
    ints.variant[i] = this.#code(r.variant);
    ints.shadowVersion[i] = r.shadowVersion === undefined ? -1 : this.#code(r.shadowVersion);
    const f = this.#floats;
    f.probability[i] = r.probability;
    f.latencyMs[i] = r.latencyMs;
    f.atMs[i] = r.at.getTime();
    let present = 0;
    if (r.shadowProbability !== undefined) {
      f.shadowProbability[i] = r.shadowProbability;
      present |= HAS_SHADOW_PROBABILITY;
    }
    if (r.championProbability !== undefined) {
      f.championProbability[i] = r.championProbability;
      present |= HAS_CHAMPION_PROBABILITY;
    }
    if (r.shadowLatencyMs !== undefined) {
      f.shadowLatencyMs[i] = r.shadowLatencyMs;
      present |= HAS_SHADOW_LATENCY;
    }
    this.#present[i] = present;
    f.threshold[i] = storedThreshold(r.threshold);
    f.shadowThreshold[i] = storedThreshold(r.shadowThreshold);
    f.championThreshold[i] = storedThreshold(r.championThreshold);
    if (r.row !== undefined) this.#rows.push([i, r.row]);
  }

  /** The columns, cut to the rows pushed. */
  finish(): PredictionColumns {
    const n = this.n;
    const ints = this.#ints;
    const f = this.#floats;
    return {
      n,
      dict: this.#dict,
      // One string: a postMessage copies it at once, where an array of strings is cloned one by one.
      ids: this.#ids.join('\n'),
      pipeline: ints.pipeline.slice(0, n),
      version: ints.version.slice(0, n),
      variant: ints.variant.slice(0, n),
      shadowVersion: ints.shadowVersion.slice(0, n),
      probability: f.probability.slice(0, n),
      latencyMs: f.latencyMs.slice(0, n),
      atMs: f.atMs.slice(0, n),
      shadowProbability: f.shadowProbability.slice(0, n),
      championProbability: f.championProbability.slice(0, n),
      threshold: f.threshold.slice(0, n),
      shadowThreshold: f.shadowThreshold.slice(0, n),
      shadowLatencyMs: f.shadowLatencyMs.slice(0, n),
      championThreshold: f.championThreshold.slice(0, n),
      present: this.#present.slice(0, n),
      rows: this.#rows,
    };
  }

  #code(s: string): number {
    let c = this.#codes.get(s);
    if (c === undefined) {
      c = this.#dict.length;
      this.#dict.push(s);
      this.#codes.set(s, c);
    }
    return c;
  }

  #grow(): void {
    const cap = this.#cap * 2;
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    for (const k of INT_COLUMNS) this.#ints[k] = grow(this.#ints[k], (n) => new Int32Array(n));
    for (const k of FLOAT_COLUMNS) this.#floats[k] = grow(this.#floats[k], (n) => new Float64Array(n));
    this.#present = grow(this.#present, (n) => new Uint8Array(n));
    this.#cap = cap;
  }
}

const INT_COLUMNS = ['pipeline', 'version', 'variant', 'shadowVersion'] as const;
type IntColumn = (typeof INT_COLUMNS)[number];
const FLOAT_COLUMNS = ['probability', 'latencyMs', 'atMs', 'shadowProbability', 'championProbability', 'threshold', 'shadowThreshold', 'shadowLatencyMs', 'championThreshold'] as const;
type FloatColumn = (typeof FLOAT_COLUMNS)[number];

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

/**
 * A pipeline's stream source (`data.source.stream`): reads rows and labels from JetStream, checks
 * each row as a pushed row is checked, and persists them in numbered segments. Runs in one replica
 * at a time per pipeline (under a lease, see stream-supervisor.ts), from the position Postgres
 * records: a crash anywhere loses nothing and doubles nothing.
 */
import type { JsMsg, NatsConnection } from 'nats';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { DeployerService } from '@refit/contracts';
import { FailedPreconditionError, type ArtifactStore, type Client, type Logger, type PgPool, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import type { StreamConfig } from './config.js';
import { RowChecker, type PinnedCategories } from './row-check.js';
import { getPinnedProfile, getPinnedSchema } from './store.js';
import { SegmentBuffer } from './stream-buffer.js';
import { backlogOf, durableOf, ensureSourceStream, purgeThrough, resetConsumer, streamNameOf } from './stream-jetstream.js';
import type { StreamMetrics } from './stream-metrics.js';
import type { PredictedRow } from './stream-join.js';
import { readLabel, readRow, type StreamSchema } from './stream-parse.js';
import { PullReader } from './stream-reader.js';
import { writeSegment, type PredictedRowsLookup, type SourcePosition, type WrittenSegment } from './stream-segments.js';
import { rebaseStreamSource, upsertStreamSource } from './stream-store.js';

/** Bytes of messages a segment holds at most, whatever its row limit (its objects are built in memory). */
const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
const PROTOBUF = 'application/protobuf';

/** Test hooks: called around a segment's commit, so a test can stop the service there. */
export type StreamHooks = {
  beforeCommit?: (pipeline: string, segment: number) => Promise<void>;
  afterCommit?: (pipeline: string, segment: number) => Promise<void>;
};

/** A prediction's row as the deployer logged it: the raw row (JSON) Predict received, when, and the version that answered. */
export type LoggedPredictionRow = { predictionId: string; rowJson: string; predictedAt: string; version: string };
/** The logged rows of a pipeline's predictions among `ids` (at most 10,000); throws when the deployer cannot answer. */
export type PredictionRowSource = (pipeline: string, ids: readonly string[]) => Promise<LoggedPredictionRow[]>;

/** Asks the deployer's GetPredictedRows (within 10 s: a segment waits for it). */
export function deployerPredictionRows(deployer: Pick<Client<typeof DeployerService>, 'getPredictedRows'>): PredictionRowSource {
  return async (pipeline, ids) =>
    (await deployer.getPredictedRows({ pipeline, predictionIds: [...ids] }, { timeoutMs: 10_000 })).rows.map((r) => ({
      predictionId: r.predictionId,
      rowJson: r.rowJson,
      predictedAt: (r.predictedAt ? timestampDate(r.predictedAt) : new Date()).toISOString(),
      version: r.version,
    }));
}

/** What a stream source needs. */
export type StreamSourceDeps = {
  pool: PgPool;
  nc: NatsConnection;
  store: ArtifactStore;
  logger: Logger;
  publish: ServiceRuntime['publish'];
  kick: () => void;
  metrics: StreamMetrics;
  limits: StreamConfig;
  /** The service's own stream (`REFIT`): the pipeline streams Refit creates are named after it. */
  serviceStream: string;
  /** The service's event subject prefix: a source may not read it. */
  subjectPrefix: string;
  /** The rows of predictions, for labels named by prediction ids. Default none: labels join rows of the stream only. */
  predictions?: PredictionRowSource;
  hooks?: StreamHooks;
};

/** An applied pipeline with a stream source. */
export type AppliedStream = { spec: PipelineSpec; version: number };

/** Resolves after `ms`, or at once when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * The columns rows are checked against: the declared ones, or the pinned ones of a schema that is
 * inferred (waited for until a first batch pins it). The label column is left out of the rows (labels
 * come on their own subject) and checks the labels.
 */
async function schemaOf(deps: StreamSourceDeps, spec: PipelineSpec, signal: AbortSignal): Promise<{ schema: StreamSchema; pinned: PinnedCategories } | undefined> {
  let columns = spec.schema.columns;
  if (spec.schema.infer) {
    for (;;) {
      const pinned = await getPinnedSchema(deps.pool, spec.name);
      if (pinned) {
        columns = pinned.columns;
        break;
      }
      deps.logger.warn({ pipeline: spec.name }, 'the stream source waits for a first pushed batch to pin the inferred schema');
      await sleep(deps.limits.scanMs * 6, signal);
      if (signal.aborted) return undefined;
    }
  }
  const stream = spec.data.source?.stream;
  if (!stream) return undefined;
  const rowColumns = columns.filter((c) => c.name !== spec.label.column);
  if (stream.idColumn !== undefined && !rowColumns.some((c) => c.name === stream.idColumn)) {
    throw new FailedPreconditionError(`pipeline '${spec.name}': data.source.stream.idColumn '${stream.idColumn}' is not a column of the schema (other than the label)`);
  }
  const profile = await getPinnedProfile(deps.pool, spec.name);
  const pinned = new Map(Object.entries(profile?.profile.columns ?? {}).flatMap(([name, p]) => (p.categories ? [[name, new Set(Object.keys(p.categories))] as const] : [])));
  return { schema: { rowColumns, label: columns.find((c) => c.name === spec.label.column), idColumn: stream.idColumn, maxBytes: deps.limits.maxMessageBytes }, pinned };
}

/**
 * Looks up predictions' rows through `source`, each checked as a row message of the stream is
 * (the schema's columns, its time when it was predicted); a row that fails is returned with why.
 */
function checkedPredictions(source: PredictionRowSource, schema: StreamSchema, pinned: PinnedCategories): PredictedRowsLookup {
  return async (pipeline, ids) => {
    const checker = new RowChecker(schema.rowColumns, pinned);
    const out = new Map<string, PredictedRow>();
    for (const p of await source(pipeline, ids)) {
      const id = p.predictionId.toLowerCase();
      let row: unknown;
      try {
        row = JSON.parse(p.rowJson);
      } catch {
        row = undefined;
      }
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        out.set(id, { problem: { column: '', expected: 'a JSON object', value: '', message: 'the logged row is not a JSON object', raw: p.rowJson.slice(0, 2000) } });
        continue;
      }
      const message = Buffer.from(JSON.stringify({ ...row, id, at: p.predictedAt }));
      const r = readRow(message, false, { ...schema, idColumn: undefined }, checker, 0, p.predictedAt);
      out.set(id, 'problem' in r ? r : { row: r.json, at: r.at, version: p.version });
    }
    return out;
  };
}

/**
 * Reads a pipeline's stream until `signal` aborts (the lease lost or the service stopping): the
 * stream ensured, the durable consumer reset to where the last committed segment ended, then
 * messages sorted into the open segment, which is persisted when it holds `segment.maxRows` rows
 * or has been open `segment.maxSeconds` (or holds as many messages as may be unacknowledged).
 * Errors propagate: the lease starts the work again, from the committed position.
 */
export async function runStreamSource(deps: StreamSourceDeps, applied: AppliedStream, signal: AbortSignal): Promise<void> {
  const { spec, version } = applied;
  const src = spec.data.source?.stream;
  if (!src) return;
  const pipeline = spec.name;
  const log = deps.logger.child({ pipeline, stream: src.subject });
  for (const s of [src.subject, src.labels]) {
    if (s === deps.subjectPrefix || s.startsWith(`${deps.subjectPrefix}.`)) throw new FailedPreconditionError(`pipeline '${pipeline}': stream subject '${s}' is under Refit's event prefix '${deps.subjectPrefix}.'`);
  }
  const read = await schemaOf(deps, spec, signal);
  if (!read || signal.aborted) return;
  const { schema, pinned } = read;
  const predictedRows = deps.predictions && checkedPredictions(deps.predictions, schema, pinned);
  const jsm = await deps.nc.jetstreamManager();
  const { stream, owned } = await ensureSourceStream(jsm, { name: streamNameOf(deps.serviceStream, pipeline), subject: src.subject, labels: src.labels, limits: deps.limits });
  const state = await upsertStreamSource(deps.pool, { pipeline, stream, subject: src.subject, labelsSubject: src.labels });
  const durable = durableOf(pipeline);
  const streamLast = (await jsm.streams.info(stream)).state.last_seq;
  if (streamLast < Number(state.last_sequence)) {
    // Sequences never go back on a stream (a purge keeps them): this one was deleted and created again.
    log.error({ streamLast, committed: Number(state.last_sequence) }, 'the stream was created again (its sequences restarted below the committed position): reading it from its start');
    await rebaseStreamSource(deps.pool, pipeline, Number(state.last_sequence));
    state.last_sequence = '0';
  }
  const at: SourcePosition = {
    pipeline,
    specVersion: version,
    specJson: JSON.stringify(spec),
    segments: Number(state.segments),
    lastSequence: Number(state.last_sequence),
    labelWaitHours: src.labelWaitHours,
    orphanWaitMs: deps.limits.orphanLabelWaitMs,
    maxOrphans: deps.limits.maxOrphanLabels,
  };
  await resetConsumer(jsm, { stream, durable, startSequence: at.lastSequence + 1, limits: deps.limits });
  log.info({ stream: stream, owned, from: at.lastSequence + 1, segments: at.segments }, 'stream source reading');

  const reader = new PullReader(await deps.nc.jetstream().consumers.get(stream, durable), deps.limits.fetchBatch);
  const onAbort = (): void => reader.interrupt();
  signal.addEventListener('abort', onAbort);
  let failure: unknown;
  // Two segments may hold unacknowledged messages at once: one being written, one filling.
  const maxMessages = Math.max(1, Math.floor((deps.limits.maxAckPending - deps.limits.fetchBatch) / 2));
  let buf: SegmentBuffer | undefined;
  let checker: RowChecker | undefined;
  let last: JsMsg | undefined;
  let deadline = Infinity;
  // The last stream sequence taken into a segment (persisted or not): a redelivery up to it is skipped.
  let readThrough = at.lastSequence;
  let writing: Promise<void> | undefined;
  const full = (b: SegmentBuffer): boolean => b.rows.length >= src.segment.maxRows || b.messages >= maxMessages || b.bytes >= SEGMENT_MAX_BYTES;

  /** Writes a closed segment, then acknowledges its messages (cumulatively, through its last one). */
  const persist = async (b: SegmentBuffer, ack: JsMsg): Promise<void> => {
    const written = await writeSegment(
      { pool: deps.pool, store: deps.store, publish: deps.publish, kick: deps.kick, beforeCommit: deps.hooks?.beforeCommit, predictedRows, lookupBatch: deps.limits.predictionLookupBatch, logger: log },
      at,
      b,
    );
    at.segments = written.segment;
    at.lastSequence = written.lastSequence;
    at.retryAfter = written.retryAfter;
    await deps.hooks?.afterCommit?.(pipeline, written.segment);
    ack.ack();
    afterSegment(deps, log, { jsm, stream, durable, owned, pipeline }, written);
  };
  /**
   * Closes the open segment and starts writing it while the next one fills: segments are written
   * one at a time, in order (the next one's joins read what this one commits), so this first waits
   * for the previous write.
   */
  const close = async (): Promise<void> => {
    if (!buf || !last) return;
    const b = buf;
    const ack = last;
    buf = undefined;
    checker = undefined;
    deadline = Infinity;
    await writing;
    if (failure !== undefined) throw failure;
    writing = persist(b, ack).then(
      () => {
        writing = undefined;
      },
      (err: unknown) => {
        failure = err;
        reader.interrupt();
      },
    );
  };

  try {
    while (!signal.aborted) {
      failure ??= reader.failure;
      if (failure !== undefined) throw failure;
      if (!reader.ready) await reader.wait(deadline === Infinity ? deps.limits.scanMs : Math.max(0, deadline - Date.now()));
      const batch = reader.take();
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i];
        if (m.seq <= readThrough) {
          // Taken already (a redelivery). Acknowledged now only when nothing unpersisted precedes it:
          // the acknowledgement is cumulative.
          if (m.seq <= at.lastSequence && !buf && !writing) m.ack();
          continue;
        }
        if (!buf) {
          buf = new SegmentBuffer();
          checker = new RowChecker(schema.rowColumns, pinned);
          deadline = Date.now() + src.segment.maxSeconds * 1000;
        }
        take(m, buf, checker as RowChecker);
        readThrough = m.seq;
        last = m;
        if (full(buf)) {
          // The rest of this batch goes back to the front of the queue: the segment closes here.
          reader.giveBack(batch.slice(i + 1));
          break;
        }
      }
      if (buf && (full(buf) || Date.now() >= deadline)) await close();
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await reader.stop();
    // A segment being written completes (or fails) before the lease is given up.
    await writing;
  }

  /** Sorts one message into the open segment. */
  function take(m: JsMsg, b: SegmentBuffer, rc: RowChecker): void {
    b.see(m.seq, m.data.length);
    const isRow = m.subject === src?.subject;
    if (!isRow && m.subject !== src?.labels) return;
    const protobuf = m.headers?.get('Content-Type') === PROTOBUF;
    const seenAt = new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString();
    if (isRow) {
      const r = readRow(m.data, protobuf, schema, rc, m.seq, seenAt);
      if ('problem' in r) b.quarantine('row', m.seq, r.problem);
      else b.addRow({ id: r.id, at: r.at, json: r.json, seq: m.seq, seenAt }, () => m.string().slice(0, 2000));
      return;
    }
    const l = readLabel(m.data, protobuf, schema, seenAt);
    if ('problem' in l) b.quarantine('label', m.seq, l.problem);
    else b.addLabel({ id: l.id, label: l.label, at: l.at, seq: m.seq, raw: l.raw.slice(0, 2000), seenAt });
  }
}

/** Counts a written segment, and (in the background, errors logged) purges what it holds from Refit's stream and reads the lag. */
function afterSegment(deps: StreamSourceDeps, log: Logger, s: { jsm: Awaited<ReturnType<NatsConnection['jetstreamManager']>>; stream: string; durable: string; owned: boolean; pipeline: string }, w: WrittenSegment): void {
  const { metrics } = deps;
  const p = s.pipeline;
  metrics.segments.inc({ pipeline: p });
  metrics.rows.inc({ pipeline: p, outcome: 'accepted' }, w.rowsAccepted);
  metrics.rows.inc({ pipeline: p, outcome: 'quarantined' }, w.rowsQuarantined);
  metrics.labels.inc({ pipeline: p, outcome: 'joined' }, w.labelsJoined);
  metrics.labels.inc({ pipeline: p, outcome: 'quarantined' }, w.labelsQuarantined);
  if (w.rowsExpired > 0) metrics.expired.inc({ pipeline: p }, w.rowsExpired);
  log.debug({ segment: w.segment, rows: w.rowsAccepted, quarantined: w.rowsQuarantined, labels: w.labelsJoined }, 'stream segment written');
  void (async () => {
    if (s.owned) await purgeThrough(s.jsm, s.stream, w.lastSequence);
    const backlog = await backlogOf(s.jsm, s.stream, s.durable);
    if (backlog) {
      metrics.lag.set({ pipeline: p }, backlog.lag);
      metrics.fill.set({ pipeline: p }, backlog.fill);
    }
  })().catch((err: unknown) => log.warn({ err }, 'could not purge the stream behind a segment or read its lag'));
}

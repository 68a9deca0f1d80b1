import { timestampDate } from '@bufbuild/protobuf/wkt';
import { fromBinary, fromJsonString, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { checkMessage, DEFAULT_MAX_TEXT_CHARS, EVENTS, withTransaction, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import { isBusinessMetric, lowerIsBetterIn, specFromJson, type PipelineSpec } from '@refit/spec';
import type pg from 'pg';
import { addRows, pipelineState } from './decision-store.js';
import { decide, lockPipelineDecisions, type DecideDeps } from './decide.js';
import { evaluateBusiness, evaluateDrift, evaluateVolume, type Clock } from './policies.js';
import { evaluatePerformance } from './performance.js';
import { outcomeValues } from './performance-rows.js';
import { lockPerformanceState, savePerformanceState } from './performance-store.js';
import { withBusinessMetrics } from './live-business.js';
import { baselineOf, getPipeline } from './store.js';

/**
 * Decodes an external event: protobuf, or JSON when the publisher says so or protobuf fails; an
 * enum number the schema does not define or a string over `maxText` characters is refused.
 */
export function decodeExternal<S extends DescMessage>(schema: S, ev: ReceivedEvent, maxText = DEFAULT_MAX_TEXT_CHARS): MessageShape<S> {
  const text = Buffer.from(ev.data).toString('utf8').trim();
  const json = (ev.headers['Content-Type'] ?? ev.headers['content-type'] ?? '').includes('json') || text.startsWith('{');
  const msg = json ? fromJsonString(schema, text, { ignoreUnknownFields: false }) : fromBinary(schema, ev.data);
  return checkMessage(schema, msg, { what: `event ${ev.id}`, maxText });
}

/** What taking an external event uses: the decision's dependencies and the config (subject prefix, text limit). */
type ExternalDeps = DecideDeps & Pick<ServiceRuntime, 'config'>;

/** Evaluates the volume policies of a pipeline after new rows arrived. */
export async function onNewRows(rt: DecideDeps, tx: pg.PoolClient, pipelineName: string, rows: number, now: Date): Promise<void> {
  const pipeline = await getPipeline(tx, pipelineName);
  if (!pipeline) return;
  const spec = specFromJson(pipeline.spec_json);
  await lockPipelineDecisions(tx, pipelineName);
  await pipelineState(tx, pipelineName);
  await addRows(tx, pipelineName, rows);
  for (const [i, p] of spec.triggers.entries()) {
    if (p.kind === 'continuous') {
      const evaluation = { fired: true, reason: `${rows} new rows: continuous retraining warm-starts from the champion`, measured: { rows }, thresholds: {} };
      await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'continuous', evaluation, now });
      continue;
    }
    if (p.kind !== 'volume') continue;
    const state = await pipelineState(tx, pipelineName);
    const evaluation = evaluateVolume(p, Number(state.rows_since_run), Number(state.last_run_rows));
    await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'volume', evaluation, now });
  }
}

/**
 * Other systems drive Refit on `<prefix>.external.retrain`, `.data` and `.metric`. A malformed
 * event, an unknown pipeline or a source the pipeline does not allow is rejected with a logged
 * reason; nothing an outsider sends can crash the consumer. Events are taken in batches (one
 * transaction for up to 500); a retrain request is only recorded here, and
 * {@link startExternalRequests} decides them per pipeline, so a flood costs a row per event in
 * one insert, and one decision with a count.
 */
export async function consumeExternalEvents(rt: ExternalDeps & Pick<ServiceRuntime, 'consumeBatch' | 'logger'>, clock: Clock, requests: ExternalRequests): Promise<void> {
  const reject = (ev: ReceivedEvent, reason: string) => rt.logger.warn({ eventId: ev.id, subject: ev.subject, reason }, 'external event rejected');
  await rt.consumeBatch({
    name: 'external',
    event: { name: 'external.>', schema: EVENTS.externalRetrain.schema, from: 'external' },
    // The batch consumer hands each event once (recorded in handled_events with the batch).
    handle: async (events, tx, { afterCommit }) => {
      const retrains: Array<{ eventId: string; pipeline: string; source: string; reason: string }> = [];
      for (const ev of events) {
        // A retrain request is only read here (no query); new rows and metrics are decided now.
        if (ev.subject === `${rt.config.subjectPrefix}.external.retrain`) {
          const retrain = readRetrain(ev, rt.config.maxTextChars, reject);
          if (retrain) retrains.push(retrain);
          continue;
        }
        // One event's failure is its own: it is rejected and the batch goes on.
        await tx.query('savepoint external_event');
        try {
          await takeExternal(rt, tx, ev, clock, reject);
          await tx.query('release savepoint external_event');
        } catch (err) {
          await tx.query('rollback to savepoint external_event');
          reject(ev, `could not be handled: ${(err as Error).message}`);
        }
      }
      if (retrains.length > 0) {
        await tx.query(
          'insert into external_requests (event_id, pipeline, source, reason) select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])',
          [retrains.map((r) => r.eventId), retrains.map((r) => r.pipeline), retrains.map((r) => r.source), retrains.map((r) => r.reason)],
        );
        afterCommit(() => requests.kick());
      }
    },
  });
}

/** A retrain request as it is taken in, or undefined when it is rejected (with a logged reason). */
function readRetrain(ev: ReceivedEvent, maxText: number, reject: (ev: ReceivedEvent, reason: string) => void): { eventId: string; pipeline: string; source: string; reason: string } | undefined {
  let msg;
  try {
    msg = decodeExternal(EVENTS.externalRetrain.schema, ev, maxText);
  } catch (e) {
    reject(ev, `malformed payload: ${(e as Error).message}`);
    return undefined;
  }
  if (!msg.pipeline) {
    reject(ev, 'pipeline is missing');
    return undefined;
  }
  return { eventId: ev.id, pipeline: msg.pipeline, source: msg.source, reason: msg.reason };
}

/**
 * One external event other than a retrain request: new rows and business metrics are decided at
 * once; anything malformed is rejected with a logged reason.
 */
async function takeExternal(
  rt: ExternalDeps,
  tx: pg.PoolClient,
  ev: ReceivedEvent,
  clock: Clock,
  reject: (ev: ReceivedEvent, reason: string) => void,
): Promise<undefined> {
  const kind = ev.subject.slice(`${rt.config.subjectPrefix}.external.`.length);
  if (kind === 'metric') {
    await onBusinessMetric(rt, tx, ev, clock(), reject);
    return undefined;
  }
  if (kind !== 'data') {
    reject(ev, `unknown external subject '${ev.subject}': use external.retrain, external.data or external.metric`);
    return undefined;
  }
  let msg;
  try {
    msg = decodeExternal(EVENTS.externalData.schema, ev, rt.config.maxTextChars);
  } catch (e) {
    reject(ev, `malformed payload: ${(e as Error).message}`);
    return undefined;
  }
  if (!msg.pipeline) {
    reject(ev, 'pipeline is missing');
    return undefined;
  }
  const pipeline = await getPipeline(tx, msg.pipeline);
  const problem = !pipeline ? `pipeline '${msg.pipeline}' not found` : sourceProblem(specFromJson(pipeline.spec_json), msg.pipeline, msg.source);
  if (problem) reject(ev, problem);
  else if (msg.rows <= 0n) reject(ev, 'rows must be positive');
  else await onNewRows(rt, tx, msg.pipeline, Number(msg.rows), clock());
  return undefined;
}

/** Why a source may not drive a pipeline, or undefined when it may. */
function sourceProblem(spec: PipelineSpec, pipeline: string, source: string): string | undefined {
  const policy = spec.triggers.find((t) => t.kind === 'external');
  if (policy?.kind === 'external' && policy.sources.includes(source)) return undefined;
  return `source '${source}' may not drive pipeline '${pipeline}' (allowed: ${policy?.kind === 'external' ? policy.sources.join(', ') : 'none, no external policy'})`;
}

/** Most retrain requests of one pipeline decided together. */
const REQUEST_BATCH = 50_000;

/**
 * Decides the pipeline's pending retrain requests, oldest first, in one transaction: the requests
 * from sources it does not allow (or for a pipeline that does not exist) are rejected with a logged
 * reason; the allowed ones are one evaluation of its external policy — one decision, the rest
 * counted on it — whose run, if one starts, records the first request's reason. Replicas share
 * the work: each batch is taken with `skip locked`.
 */
export async function decideExternalRequests(rt: DecideDeps & Pick<ServiceRuntime, 'logger'>, tx: pg.PoolClient, pipelineName: string, now: Date): Promise<number> {
  const taken = await tx.query<{ id: string; event_id: string; source: string; reason: string }>(
    `delete from external_requests where id in (
       select id from external_requests where pipeline = $1 order by id limit $2 for update skip locked)
     returning id, event_id, source, reason`,
    [pipelineName, REQUEST_BATCH],
  );
  // `delete … returning` keeps no order: oldest first again.
  const rows = taken.rows.sort((a, b) => Number(a.id) - Number(b.id));
  if (rows.length === 0) return 0;
  const pipeline = await getPipeline(tx, pipelineName);
  const rejected = (n: number, reason: string) => rt.logger.warn({ pipeline: pipelineName, requests: n, firstEventId: rows[0].event_id, reason }, 'external retrain requests rejected');
  if (!pipeline) {
    rejected(rows.length, `pipeline '${pipelineName}' not found`);
    return rows.length;
  }
  const spec = specFromJson(pipeline.spec_json);
  const allowed = rows.filter((r) => !sourceProblem(spec, pipelineName, r.source));
  const refused = rows.filter((r) => sourceProblem(spec, pipelineName, r.source));
  if (refused.length > 0) rejected(refused.length, sourceProblem(spec, pipelineName, refused[0].source) ?? '');
  if (allowed.length === 0) return rows.length;
  const policyIndex = spec.triggers.findIndex((t) => t.kind === 'external');
  const policy = spec.triggers[policyIndex];
  const first = allowed[0];
  const others = allowed.length > 1 ? ` (and ${allowed.length - 1} more request${allowed.length > 2 ? 's' : ''} taken with it)` : '';
  await decide(rt, tx, {
    pipeline,
    spec,
    policyIndex,
    policy: 'external',
    evaluation: {
      fired: true,
      reason: `${first.source} asked for a retrain${first.reason ? `: ${first.reason}` : ''}${others}`,
      measured: { source: first.source, eventId: first.event_id, requests: allowed.length, sources: [...new Set(allowed.map((r) => r.source))] },
      thresholds: { sources: policy.kind === 'external' ? policy.sources : [] },
    },
    now,
    runReason: `${first.source}: ${first.reason || 'external request'}`,
    count: allowed.length,
  });
  return rows.length;
}

/**
 * Decides pending external retrain requests: at once after a request is taken in (kick), and every
 * `everyMs` for what another replica took in or a failed pass left.
 */
export function startExternalRequests(rt: DecideDeps & Pick<ServiceRuntime, 'pool' | 'relay' | 'logger'>, clock: Clock, everyMs = 1000) {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const pass = async (): Promise<void> => {
    const pending = await rt.pool.query<{ pipeline: string }>('select distinct pipeline from external_requests');
    for (const { pipeline } of pending.rows) {
      if (stopped) return;
      try {
        // Until the pipeline has nothing pending (a flood may outlast one batch).
        while ((await withTransaction(rt.pool, (tx) => decideExternalRequests(rt, tx, pipeline, clock()))) > 0 && !stopped) rt.relay.kick();
      } catch (err) {
        rt.logger.error({ err, pipeline }, 'could not decide external retrain requests; retried at the next pass');
      }
    }
  };
  const kick = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await pass();
        } while (again && !stopped);
      } catch (err) {
        rt.logger.warn({ err }, 'external requests pass failed; retried at the next one');
      } finally {
        running = undefined;
      }
    })();
  };
  const timer = setInterval(kick, everyMs);
  timer.unref();
  return {
    kick,
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** What {@link startExternalRequests} returns. */
export type ExternalRequests = ReturnType<typeof startExternalRequests>;

/**
 * Evaluates the performance policies of a pipeline on a monitoring window from the deployer: each
 * policy's sequential test of the served version (kept in `performance_tests`) takes the window's
 * labelled rows, and the outcome is decided and recorded.
 */
export async function onMonitoringWindow(rt: DecideDeps, tx: pg.PoolClient, ev: ReceivedEvent, now: Date): Promise<void> {
  const w = ev.decode(EVENTS.monitoringWindow.schema);
  // Candidates (canary, shadow, b) are judged by their rollout; a retrain answers for what serves.
  if (w.variant && w.variant !== 'champion') return;
  const pipeline = await getPipeline(tx, w.pipeline);
  if (!pipeline) return;
  const spec = specFromJson(pipeline.spec_json);
  const windowEnd = w.windowEnd ? timestampDate(w.windowEnd).toISOString() : '';
  // Business metrics of the window's confusion counts, oriented by their goal.
  const window = { version: w.version, windowEnd, labeled: Number(w.labeled), metrics: withBusinessMetrics(spec, w.metrics), rowSums: w.rowSums, retired: w.retired };
  for (const [i, p] of spec.triggers.entries()) {
    if (p.kind !== 'performance') continue;
    const previous = await lockPerformanceState(tx, w.pipeline, i, w.version);
    const evaluationValue = p.reference === 'evaluation' ? await baselineOf(tx, w.pipeline, w.version, p.metric) : undefined;
    const business = isBusinessMetric(spec, p.metric) ? outcomeValues(spec, p.metric) : null;
    const { evaluation, state } = evaluatePerformance(p, previous, window, { lowerIsBetter: lowerIsBetterIn(spec, p.metric), evaluationValue, business });
    await savePerformanceState(tx, w.pipeline, i, w.version, state);
    await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'performance', evaluation, now });
  }
}

/** Evaluates the drift policies of a pipeline on a live `drift.report` (a served window against the model's training data). */
export async function onLiveDrift(rt: DecideDeps, tx: pg.PoolClient, ev: ReceivedEvent, now: Date): Promise<void> {
  const r = ev.decode(EVENTS.driftReport.schema);
  if (r.source !== 'live') return;
  const pipeline = await getPipeline(tx, r.pipeline);
  if (!pipeline) return;
  const spec = specFromJson(pipeline.spec_json);
  const drift = {
    version: r.version,
    windowEnd: r.windowEnd ? timestampDate(r.windowEnd).toISOString() : '',
    referenceRunId: r.referenceRunId,
    status: r.status,
    share: r.share,
    columns: r.columns.map((c) => ({ column: c.column, psi: c.psi ?? null, status: c.status, referenceSize: Number(c.referenceSize), currentSize: Number(c.currentSize) })),
  };
  for (const [i, p] of spec.triggers.entries()) {
    if (p.kind !== 'drift') continue;
    await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'drift', evaluation: evaluateDrift(p, drift), now });
  }
}

/**
 * The stream learner's inputs drifted past its continuous policy's limit (`stream.drifted`): the
 * frozen transform no longer fits them, so the continuous policy asks for a full batch run (which
 * refits it), under the pipeline's hygiene. Once per crossing and champion (the evidence key).
 */
export async function onStreamDrift(rt: DecideDeps, tx: pg.PoolClient, ev: ReceivedEvent, now: Date): Promise<void> {
  const d = ev.decode(EVENTS.streamDrifted.schema);
  const pipeline = await getPipeline(tx, d.pipeline);
  if (!pipeline) return;
  const spec = specFromJson(pipeline.spec_json);
  for (const [i, p] of spec.triggers.entries()) {
    if (p.kind !== 'continuous' || !p.online) continue;
    const evaluation = {
      fired: Number.isFinite(d.drift) && d.drift > p.online.driftLimit,
      reason: `the stream learner's inputs drifted from champion ${d.championVersion}'s transform: ${d.column} moved ${d.drift.toFixed(2)} standard deviations (limit ${p.online.driftLimit}); a full run refits the transform`,
      measured: { drift: d.drift, column: d.column, segment: Number(d.segment) },
      thresholds: { driftLimit: p.online.driftLimit },
      evidenceKey: `stream-drift:${d.championVersion}:${d.segment}`,
    };
    await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'continuous', evaluation, now });
  }
}

/** A business metric from another system, against the pipeline's `business` policies for it. */
async function onBusinessMetric(rt: ExternalDeps, tx: pg.PoolClient, ev: ReceivedEvent, now: Date, reject: (ev: ReceivedEvent, reason: string) => void): Promise<void> {
  let m;
  try {
    m = decodeExternal(EVENTS.externalMetric.schema, ev, rt.config.maxTextChars);
  } catch (e) {
    return reject(ev, `malformed payload: ${(e as Error).message}`);
  }
  if (!m.pipeline || !m.name) return reject(ev, 'pipeline and name are required');
  if (!Number.isFinite(m.value)) return reject(ev, `value must be a finite number, got ${m.value}`);
  const pipeline = await getPipeline(tx, m.pipeline);
  if (!pipeline) return reject(ev, `pipeline '${m.pipeline}' not found`);
  const spec = specFromJson(pipeline.spec_json);
  const watching = [...spec.triggers.entries()].filter(([, p]) => p.kind === 'business' && p.metric === m.name);
  if (watching.length === 0) return reject(ev, `pipeline '${m.pipeline}' has no business policy for metric '${m.name}'`);
  for (const [i, p] of watching) {
    if (p.kind !== 'business') continue;
    if (!p.sources.includes(m.source)) {
      reject(ev, `source '${m.source}' may not report '${m.name}' for pipeline '${m.pipeline}' (allowed: ${p.sources.join(', ')})`);
      continue;
    }
    const evaluation = evaluateBusiness(p, { source: m.source, value: m.value, version: m.version, eventId: ev.id });
    await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'business', evaluation, now });
  }
}

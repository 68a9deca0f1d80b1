import { timestampDate } from '@bufbuild/protobuf/wkt';
import { fromBinary, fromJsonString, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { EVENTS, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import { lowerIsBetterIn, specFromJson } from '@refit/spec';
import type pg from 'pg';
import { addRows, pipelineState } from './decision-store.js';
import { decide } from './decide.js';
import { evaluateBusiness, evaluateDrift, evaluatePerformance, evaluateVolume, type Clock } from './policies.js';
import { withBusinessMetrics } from './live-business.js';
import { baselineOf, getPipeline } from './store.js';

/** Decodes an external event: protobuf, or JSON when the publisher says so or protobuf fails. */
export function decodeExternal<S extends DescMessage>(schema: S, ev: ReceivedEvent): MessageShape<S> {
  const text = Buffer.from(ev.data).toString('utf8').trim();
  const json = (ev.headers['Content-Type'] ?? ev.headers['content-type'] ?? '').includes('json') || text.startsWith('{');
  if (json) return fromJsonString(schema, text, { ignoreUnknownFields: false });
  return fromBinary(schema, ev.data);
}

/** Evaluates the volume policies of a pipeline after new rows arrived. */
export async function onNewRows(rt: ServiceRuntime, tx: pg.PoolClient, pipelineName: string, rows: number, now: Date): Promise<void> {
  const pipeline = await getPipeline(tx, pipelineName);
  if (!pipeline) return;
  const spec = specFromJson(pipeline.spec_json);
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
 * Other systems drive Refit on `<prefix>.external.retrain` and `<prefix>.external.data`. A
 * malformed event, an unknown pipeline or a source the pipeline does not allow is rejected with a
 * logged reason; nothing an outsider sends can crash the consumer.
 */
export async function consumeExternalEvents(rt: ServiceRuntime, clock: Clock): Promise<void> {
  const reject = (ev: ReceivedEvent, reason: string) => rt.logger.warn({ eventId: ev.id, subject: ev.subject, reason }, 'external event rejected');
  await rt.consume({
    name: 'external',
    event: { name: 'external.>', schema: EVENTS.externalRetrain.schema },
    onDeadLetter: async (ev, error) => reject(ev, error instanceof Error ? error.message : String(error)),
    handle: async (ev, tx) => {
      const kind = ev.subject.slice(`${rt.config.subjectPrefix}.external.`.length);
      if (kind === 'metric') return onBusinessMetric(rt, tx, ev, clock(), reject);
      if (kind !== 'retrain' && kind !== 'data') return reject(ev, `unknown external subject '${ev.subject}': use external.retrain, external.data or external.metric`);
      let msg;
      try {
        msg = kind === 'retrain' ? decodeExternal(EVENTS.externalRetrain.schema, ev) : decodeExternal(EVENTS.externalData.schema, ev);
      } catch (e) {
        return reject(ev, `malformed payload: ${(e as Error).message}`);
      }
      if (!msg.pipeline) return reject(ev, 'pipeline is missing');
      const pipeline = await getPipeline(tx, msg.pipeline);
      if (!pipeline) return reject(ev, `pipeline '${msg.pipeline}' not found`);
      const spec = specFromJson(pipeline.spec_json);
      const policyIndex = spec.triggers.findIndex((t) => t.kind === 'external');
      const policy = spec.triggers[policyIndex];
      if (!policy || policy.kind !== 'external' || !policy.sources.includes(msg.source)) {
        return reject(ev, `source '${msg.source}' may not drive pipeline '${msg.pipeline}' (allowed: ${policy?.kind === 'external' ? policy.sources.join(', ') : 'none, no external policy'})`);
      }
      if ('rows' in msg) {
        if (msg.rows <= 0n) return reject(ev, 'rows must be positive');
        return onNewRows(rt, tx, msg.pipeline, Number(msg.rows), clock());
      }
      await decide(rt, tx, {
        pipeline,
        spec,
        policyIndex,
        policy: 'external',
        evaluation: {
          fired: true,
          reason: `${msg.source} asked for a retrain${msg.reason ? `: ${msg.reason}` : ''}`,
          measured: { source: msg.source, eventId: ev.id },
          thresholds: { sources: policy.sources },
          evidenceKey: `external:${ev.id}`,
        },
        now: clock(),
        runReason: `${msg.source}: ${msg.reason || 'external request'}`,
      });
    },
  });
}

/** Evaluates the performance policies of a pipeline on a monitoring window from the deployer. */
export async function onMonitoringWindow(rt: ServiceRuntime, tx: pg.PoolClient, ev: ReceivedEvent, now: Date): Promise<void> {
  const w = ev.decode(EVENTS.monitoringWindow.schema);
  const pipeline = await getPipeline(tx, w.pipeline);
  if (!pipeline) return;
  const spec = specFromJson(pipeline.spec_json);
  const windowEnd = w.windowEnd ? timestampDate(w.windowEnd).toISOString() : '';
  // Business metrics of the window's confusion counts, oriented by their goal.
  const metrics = withBusinessMetrics(spec, w.metrics);
  for (const [i, p] of spec.triggers.entries()) {
    if (p.kind !== 'performance') continue;
    const baseline = await baselineOf(tx, w.pipeline, w.version, p.metric);
    const evaluation = evaluatePerformance(p, { version: w.version, labeled: Number(w.labeled), metrics, windowEnd }, baseline, (m) => lowerIsBetterIn(spec, m));
    await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'performance', evaluation, now });
  }
}

/** Evaluates the drift policies of a pipeline on a live `drift.report` (a served window against the model's training data). */
export async function onLiveDrift(rt: ServiceRuntime, tx: pg.PoolClient, ev: ReceivedEvent, now: Date): Promise<void> {
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

/** A business metric from another system, against the pipeline's `business` policies for it. */
async function onBusinessMetric(rt: ServiceRuntime, tx: pg.PoolClient, ev: ReceivedEvent, now: Date, reject: (ev: ReceivedEvent, reason: string) => void): Promise<void> {
  let m;
  try {
    m = decodeExternal(EVENTS.externalMetric.schema, ev);
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

import { rolloutAnalysisDoc, Verdict, type RolloutDecided } from '@refit/contracts';
import { EVENTS, eventByType, type EventDef, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type pg from 'pg';
import { raiseAlert, type AlertDeps } from './alerts.js';
import { getPipeline, getRun } from './store.js';

/** A run failed at a stage (a cancelled run is a person's choice, not an alert). */
async function onRunFailed(rt: AlertDeps, tx: pg.PoolClient, ev: ReceivedEvent): Promise<void> {
  const e = ev.decode(EVENTS.runFailed.schema);
  const run = await getRun(tx, e.runId);
  if (run?.outcome === 'cancelled') return;
  const pipeline = e.pipeline || run?.pipeline || '';
  await raiseAlert(rt, tx, {
    pipeline,
    kind: 'run-failed',
    runId: e.runId,
    summary: `run ${e.runId} of ${pipeline} failed at ${e.stage}: ${e.reason}`,
    details: { stage: e.stage, reason: e.reason, triggerKind: run?.trigger_kind ?? '' },
    sourceKey: `run-failed:${e.runId}`,
  });
}

/** A batch rejected as a whole, or with more than the spec's share of its rows quarantined. */
async function onDataRejected(rt: AlertDeps, tx: pg.PoolClient, ev: ReceivedEvent): Promise<void> {
  const e = ev.decode(EVENTS.dataRejected.schema);
  const pipeline = await getPipeline(tx, e.pipeline);
  if (!pipeline) return;
  const spec = specFromJson(pipeline.spec_json);
  const quarantined = Number(e.rowsQuarantined);
  const total = Number(e.rowsTotal);
  // A publisher that does not say the total only reports batches it refused: count it as all.
  const share = total > 0 ? quarantined / total : 1;
  const threshold = spec.alerts.quarantineShare;
  if (share <= threshold) return;
  // No total: refused before any row was read (a missing column, an empty file).
  const rejected = total === 0 || quarantined >= total;
  const what = rejected ? 'was rejected' : `quarantined ${quarantined} of ${total} rows (${(share * 100).toFixed(1)}% > ${(threshold * 100).toFixed(1)}%)`;
  await raiseAlert(rt, tx, {
    pipeline: e.pipeline,
    spec,
    kind: 'batch-quarantined',
    summary: `batch ${e.batchId} of ${e.pipeline} ${what}${e.problems[0] ? `: ${e.problems[0]}` : ''}`,
    details: { batchId: e.batchId, rowsQuarantined: quarantined, rowsTotal: total, share, threshold, rejected, problems: e.problems },
    sourceKey: `batch:${e.pipeline}:${e.batchId}`,
  });
}

/** The gates failed or were inconclusive: the candidate is not promoted, the champion stays. */
async function onModelEvaluated(rt: AlertDeps, tx: pg.PoolClient, ev: ReceivedEvent): Promise<void> {
  const e = ev.decode(EVENTS.modelEvaluated.schema);
  if (e.verdict !== Verdict.FAIL && e.verdict !== Verdict.INCONCLUSIVE) return;
  const runId = e.context?.runId ?? ev.runId ?? '';
  const pipeline = e.context?.pipeline ?? '';
  const verdict = Verdict[e.verdict].toLowerCase();
  await raiseAlert(rt, tx, {
    pipeline,
    kind: 'promotion-blocked',
    runId,
    summary: `run ${runId} of ${pipeline}: gates ${verdict}, the candidate is not promoted${e.championVersion ? ` and ${e.championVersion} stays champion` : ''}: ${e.reasons.join('; ')}`,
    details: { verdict, reasons: e.reasons, candidateMetrics: e.candidateMetrics, championMetrics: e.championMetrics, championVersion: e.championVersion },
    sourceKey: `promotion-blocked:${runId || ev.id}`,
  });
}

/**
 * The analysis a rollback alert carries, as a JSON document: the event's typed analysis, or, from a
 * deployer older than it, its `analysis_json` as it is (null when there is none).
 */
export function rollbackAnalysis(e: Pick<RolloutDecided, 'analysis' | 'analysisJson'>): unknown {
  if (e.analysis) return rolloutAnalysisDoc(e.analysis);
  try {
    return e.analysisJson ? (JSON.parse(e.analysisJson) as unknown) : null;
  } catch {
    return e.analysisJson;
  }
}

/** A progressive rollout rolled its candidate back. */
async function onRolloutDecided(rt: AlertDeps, tx: pg.PoolClient, ev: ReceivedEvent): Promise<void> {
  const e = ev.decode(EVENTS.rolloutDecided.schema);
  if (e.outcome !== 'rolled-back') return;
  const analysis = rollbackAnalysis(e);
  await raiseAlert(rt, tx, {
    pipeline: e.pipeline,
    kind: 'rollback',
    runId: e.runId,
    summary: `${e.pipeline} rolled ${e.version} back at step ${e.step}: ${e.reason}`,
    details: { version: e.version, step: e.step, reason: e.reason, analysis },
    sourceKey: `rollback:${e.pipeline}:${e.version}:${ev.id}`,
  });
}

const SOURCES = new Map<EventDef, (rt: AlertDeps, tx: pg.PoolClient, ev: ReceivedEvent) => Promise<void>>([
  [EVENTS.runFailed, onRunFailed],
  [EVENTS.dataRejected, onDataRejected],
  [EVENTS.modelEvaluated, onModelEvaluated],
  [EVENTS.rolloutDecided, onRolloutDecided],
]);

/**
 * Raises the alerts that other services' events call for (a failed run, a quarantined batch, a
 * blocked promotion, a rollback), on a durable consumer of its own so that raising alerts never
 * holds up the stage events that move runs along. Drift and performance alerts come from the
 * trigger's own decisions (`decide`).
 */
export async function consumeAlertSources(rt: AlertDeps & Pick<ServiceRuntime, 'consume' | 'config'>): Promise<void> {
  await rt.consume({
    name: 'alerts',
    event: '*',
    // Only the events that raise alerts cost a transaction; the rest are acknowledged at once.
    accept: (ev) => !ev.subject.startsWith(`${rt.config.subjectPrefix}.dlq.`) && SOURCES.has(eventByType(ev.type) as never),
    handle: async (ev, tx) => {
      const def = eventByType(ev.type);
      const source = def && SOURCES.get(def);
      if (source) await source(rt, tx, ev);
    },
    onDeadLetter: async (ev, error) => {
      rt.logger.error({ err: error, eventId: ev.id, type: ev.type, runId: ev.runId }, 'could not raise the alert of an event');
    },
  });
}

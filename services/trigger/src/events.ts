import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { Verdict, type DriftReport, type ModelRegistered, type StageTiming } from '@refit/contracts';
import { EVENTS, eventByType, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import type pg from 'pg';
import { pipelineState, updatePipelineState } from './decision-store.js';
import { lockPipelineDecisions, startQueued, type DecideDeps, type RunStarter } from './decide.js';
import { triggerMetrics, type TriggerMetrics } from './metrics.js';
import { onLiveDrift, onMonitoringWindow, onNewRows, onStreamDrift } from './external.js';
import type { Clock } from './policies.js';
import { getPipeline, getRun, insertRun, recordStage, stagesOf, updateRun, type RunRow } from './store.js';

/** Records metrics (after the commit, in applyStageEvent). */
type Count = (fn: (m: TriggerMetrics) => void) => void;

const date = (t: Timestamp | undefined): Date | null => (t ? timestampDate(t) : null);

/** One line on how the data moved since the previous run: "drift vs r-…: 2/3 columns drifted (temp_max psi 0.52, …)". */
export function driftSummary(d: DriftReport): string {
  const drifted = d.columns.filter((c) => c.status === 'drift').length;
  const parts = d.columns.map((c) => `${c.column}${c.psi !== undefined ? ` psi ${c.psi.toFixed(2)}` : ''} ${c.status}`);
  return `${d.status} vs ${d.referenceRunId}: ${drifted}/${d.columns.length} columns drifted (${parts.join(', ')})`;
}

/** Records the stage that an event closes, with the stage's own timing. */
async function closeStage(count: Count, tx: pg.PoolClient, run: RunRow, stage: string, ev: ReceivedEvent, timing: StageTiming | undefined, detail = ''): Promise<void> {
  const previous = await stagesOf(tx, [run.run_id]);
  const startedAt = date(timing?.startedAt) ?? previous.at(-1)?.finished_at ?? run.created_at;
  const finishedAt = date(timing?.finishedAt) ?? new Date();
  count((m) => m.stageSeconds.observe({ pipeline: run.pipeline, stage }, Math.max(0, finishedAt.getTime() - startedAt.getTime()) / 1000));
  await recordStage(tx, {
    runId: run.run_id,
    stage,
    status: 'done',
    computeMs: Number(timing?.computeMs ?? 0n),
    startedAt,
    finishedAt,
    eventType: ev.type,
    detail,
  });
}

/** Marks a run finished, announces it, and starts the run queued behind it. */
async function completeRun(rt: RunStarter, count: Count, tx: pg.PoolClient, run: RunRow, outcome: string, modelVersion: string): Promise<void> {
  await updateRun(tx, run.run_id, { status: 'succeeded', outcome, modelVersion });
  count((m) => m.runs.inc({ pipeline: run.pipeline, outcome }));
  await rt.publish(tx, EVENTS.runCompleted, { runId: run.run_id, pipeline: run.pipeline, outcome, modelVersion }, { runId: run.run_id });
  await startQueued(rt, tx, run.pipeline);
}

/** The events that move a run along: the stage results, in the order the stages publish them. */
const RUN_EVENTS: ReadonlySet<unknown> = new Set([
  EVENTS.datasetPrepared,
  EVENTS.featuresReady,
  EVENTS.modelTrained,
  EVENTS.modelEvaluated,
  EVENTS.modelRegistered,
  EVENTS.modelServing,
  EVENTS.runFailed,
  EVENTS.streamProven,
]);

/**
 * Whether an event is a stage result of a run (dead letters, on `<subjectPrefix>.dlq.…`, keep their
 * original type; they are not).
 */
export function isRunEvent(subjectPrefix: string, ev: Pick<ReceivedEvent, 'runId' | 'subject' | 'type'>): boolean {
  return Boolean(ev.runId) && !ev.subject.startsWith(`${subjectPrefix}.dlq.`) && RUN_EVENTS.has(eventByType(ev.type));
}

/**
 * A stream learner's replacement is a run the trigger did not start: it is recorded when its
 * `stream.proven` arrives (once: a redelivery finds it), so runs list it and its later stages
 * (registry, deployer) move it along like any run.
 */
async function recordStreamRun(tx: pg.PoolClient, ev: ReceivedEvent): Promise<void> {
  const ctx = ev.decode(EVENTS.streamProven.schema).context;
  if (!ctx?.runId || ctx.runId !== ev.runId || !ctx.pipeline || (await getRun(tx, ctx.runId))) return;
  // A pipeline this trigger does not know (never applied here) gets no run.
  if (!(await getPipeline(tx, ctx.pipeline))) return;
  await insertRun(tx, { runId: ctx.runId, pipeline: ctx.pipeline, specVersion: ctx.specVersion, triggerKind: 'stream', reason: ctx.triggerReason || 'the stream learner proved better than the champion' });
}

/** Applies one stage event to the run it belongs to. Events of unknown or finished runs change nothing. */
export async function applyStageEvent(rt: RunStarter & Pick<ServiceRuntime, 'metrics' | 'config'>, ev: ReceivedEvent, tx: pg.PoolClient, afterCommit: (fn: () => void) => void = (fn) => fn()): Promise<void> {
  const metrics = triggerMetrics(rt.metrics);
  // Counted once the transaction commits: a handling that rolls back and runs again counts once.
  const count: Count = (fn) => afterCommit(() => fn(metrics));
  const def = eventByType(ev.type);
  if (!def || !ev.runId || !isRunEvent(rt.config.subjectPrefix, ev)) return;
  if (def === EVENTS.streamProven) await recordStreamRun(tx, ev);
  const run = await getRun(tx, ev.runId, true);
  if (!run || run.status !== 'running') return;
  switch (def) {
    case EVENTS.datasetPrepared: {
      const e = ev.decode(EVENTS.datasetPrepared.schema);
      const l = e.lineage;
      await closeStage(count, tx, run, 'ingestion', ev, e.timing, `snapshot ${l?.snapshotSha256.slice(0, 12)}: ${l?.rowsTrain} train / ${l?.rowsValidation} validation / ${l?.rowsTest} test rows`);
      // The size of the training set is what a relative volume policy compares new data with.
      await lockPipelineDecisions(tx, run.pipeline);
      await pipelineState(tx, run.pipeline);
      await updatePipelineState(tx, run.pipeline, { lastRunRows: Number(l?.rowsTrain ?? 0n) });
      break;
    }
    case EVENTS.featuresReady: {
      const e = ev.decode(EVENTS.featuresReady.schema);
      const drift = e.drift ? `; ${driftSummary(e.drift)}` : '';
      await closeStage(count, tx, run, 'feature', ev, e.timing, `${e.lineage?.featureNames.length ?? 0} features${drift}`);
      break;
    }
    case EVENTS.modelTrained: {
      const e = ev.decode(EVENTS.modelTrained.schema);
      await closeStage(count, tx, run, 'trainer', ev, e.timing, trainedDetail(e.lineage?.epochs ?? 0, e.lineage?.backend ?? '', e.lineage?.trainingConfigJson ?? ''));
      break;
    }
    case EVENTS.streamProven: {
      const e = ev.decode(EVENTS.streamProven.schema);
      const x = e.evidence;
      await closeStage(count, tx, run, 'learner', ev, undefined, x ? `learned ${x.updates} updates over segments ${x.firstSegment}–${x.lastSegment}; beat ${e.championVersion} on ${x.rows} rows (log loss ${x.learnerLogLoss.toFixed(4)} vs ${x.championLogLoss.toFixed(4)}, p ${x.pValue.toPrecision(3)})` : '');
      break;
    }
    case EVENTS.modelEvaluated: {
      const e = ev.decode(EVENTS.modelEvaluated.schema);
      const verdict = Verdict[e.verdict].toLowerCase();
      await closeStage(count, tx, run, 'evaluator', ev, e.timing, verdict);
      await updateRun(tx, run.run_id, {
        decision: {
          verdict,
          reasons: e.reasons,
          candidateMetrics: e.candidateMetrics,
          championMetrics: e.championMetrics,
          championVersion: e.championVersion,
        },
      });
      break;
    }
    case EVENTS.modelRegistered: {
      const e = ev.decode(EVENTS.modelRegistered.schema);
      await closeStage(count, tx, run, 'registry', ev, e.timing, registeredDetail(e));
      await updateRun(tx, run.run_id, { modelVersion: e.version });
      if (!e.promoted) await completeRun(rt, count, tx, run, 'rejected', e.version);
      break;
    }
    case EVENTS.modelServing: {
      const e = ev.decode(EVENTS.modelServing.schema);
      await closeStage(count, tx, run, 'deployer', ev, e.timing, `serving ${e.version}`);
      await completeRun(rt, count, tx, run, 'promoted', e.version);
      break;
    }
    case EVENTS.runFailed: {
      const e = ev.decode(EVENTS.runFailed.schema);
      await recordStage(tx, { runId: run.run_id, stage: e.stage, status: 'failed', computeMs: 0, startedAt: null, finishedAt: new Date(), eventType: ev.type, detail: e.reason });
      await updateRun(tx, run.run_id, { status: 'failed', failedStage: e.stage, failureReason: e.reason });
      count((m) => {
        m.runs.inc({ pipeline: run.pipeline, outcome: 'failed' });
        m.stageFailures.inc({ pipeline: run.pipeline, stage: e.stage });
      });
      await startQueued(rt, tx, run.pipeline);
      break;
    }
    default:
      break;
  }
}

/** The trainer stage in a line: passes of Newton or epochs of Adam, and the backend. */
export function trainedDetail(epochs: number, backend: string, configJson: string): string {
  let solver: unknown;
  try {
    solver = (JSON.parse(configJson) as { solver?: unknown }).solver;
  } catch {
    solver = undefined;
  }
  return solver === 'newton' ? `Newton, ${epochs} passes, on ${backend}` : `${epochs} epochs on ${backend}`;
}

/**
 * What the registry did, in the run's words: a passing version is the new champion only when it
 * was promoted directly; with a progressive rollout it is a candidate until the deployer decides.
 */
function registeredDetail(e: ModelRegistered): string {
  if (!e.promoted) return `${e.version} registered, not promoted`;
  const strategy = rolloutStrategy(e.context?.specJson ?? '');
  if (strategy === 'direct') return `${e.version} is the new champion`;
  return `${e.version} passed its gates; ${strategy} rollout next to ${e.previousChampion ? `champion ${e.previousChampion}` : 'no champion'}`;
}

/** The run's rollout strategy (direct when its spec has none or cannot be read). */
function rolloutStrategy(specJson: string): string {
  try {
    return (JSON.parse(specJson) as { rollout?: { strategy?: string } }).rollout?.strategy ?? 'direct';
  } catch {
    return 'direct';
  }
}

/**
 * One consumer per concern: the run lifecycle (stage results, in order on one durable; every other
 * event on the stream — a training.progress beat each epoch — is acknowledged without a
 * transaction), and the inputs of the policies: new data, monitoring windows, live drift.
 */
export async function consumeStageEvents(rt: DecideDeps & Pick<ServiceRuntime, 'consume' | 'logger' | 'config'>, clock: Clock = () => new Date()): Promise<void> {
  await rt.consume({
    name: 'stage-events',
    event: '*',
    accept: (ev) => isRunEvent(rt.config.subjectPrefix, ev),
    handle: (ev, tx, { afterCommit }) => applyStageEvent(rt, ev, tx, afterCommit),
    // A broken stage event must not fail the run it reports on: log it and move on.
    onDeadLetter: async (ev, error) => {
      rt.logger.error({ err: error, eventId: ev.id, type: ev.type, runId: ev.runId }, 'could not apply stage event');
    },
  });
  await rt.consume({
    name: 'new-data',
    event: EVENTS.dataIngested,
    // These three were stage-events' work before they had consumers of their own.
    takeOverFrom: 'stage-events',
    handle: async (ev, tx) => {
      const e = ev.decode(EVENTS.dataIngested.schema);
      if (e.rowsAccepted > 0n) await onNewRows(rt, tx, e.pipeline, Number(e.rowsAccepted), clock());
    },
  });
  await rt.consume({ name: 'monitoring-windows', event: EVENTS.monitoringWindow, takeOverFrom: 'stage-events', handle: (ev, tx) => onMonitoringWindow(rt, tx, ev, clock()) });
  // A run's own drift (training data vs the previous run's) is in its feature stage; live drift is a trigger.
  await rt.consume({ name: 'live-drift', event: EVENTS.driftReport, takeOverFrom: 'stage-events', handle: (ev, tx) => onLiveDrift(rt, tx, ev, clock()) });
  // A stream learner whose inputs drifted past its limit asks for a full run (continuous policy).
  await rt.consume({ name: 'stream-drift', event: EVENTS.streamDrifted, handle: (ev, tx) => onStreamDrift(rt, tx, ev, clock()) });
}

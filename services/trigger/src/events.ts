import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { Verdict, type DriftReport, type StageTiming } from '@refit/contracts';
import { EVENTS, eventByType, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import type pg from 'pg';
import { pipelineState, updatePipelineState } from './decision-store.js';
import { startQueued } from './decide.js';
import { onLiveDrift, onMonitoringWindow, onNewRows } from './external.js';
import type { Clock } from './policies.js';
import { getRun, recordStage, stagesOf, updateRun, type RunRow } from './store.js';

const date = (t: Timestamp | undefined): Date | null => (t ? timestampDate(t) : null);

/** One line on how the data moved since the previous run: "drift vs r-…: 2/3 columns drifted (temp_max psi 0.52, …)". */
export function driftSummary(d: DriftReport): string {
  const drifted = d.columns.filter((c) => c.status === 'drift').length;
  const parts = d.columns.map((c) => `${c.column}${c.psi !== undefined ? ` psi ${c.psi.toFixed(2)}` : ''} ${c.status}`);
  return `${d.status} vs ${d.referenceRunId}: ${drifted}/${d.columns.length} columns drifted (${parts.join(', ')})`;
}

/** Records the stage that an event closes, with the stage's own timing. */
async function closeStage(tx: pg.PoolClient, run: RunRow, stage: string, ev: ReceivedEvent, timing: StageTiming | undefined, detail = ''): Promise<void> {
  const previous = await stagesOf(tx, [run.run_id]);
  const startedAt = date(timing?.startedAt) ?? previous.at(-1)?.finished_at ?? run.created_at;
  await recordStage(tx, {
    runId: run.run_id,
    stage,
    status: 'done',
    computeMs: Number(timing?.computeMs ?? 0n),
    startedAt,
    finishedAt: date(timing?.finishedAt) ?? new Date(),
    eventType: ev.type,
    detail,
  });
}

/** Marks a run finished, announces it, and starts the run queued behind it. */
async function completeRun(rt: ServiceRuntime, tx: pg.PoolClient, run: RunRow, outcome: string, modelVersion: string): Promise<void> {
  await updateRun(tx, run.run_id, { status: 'succeeded', outcome, modelVersion });
  await rt.publish(tx, EVENTS.runCompleted, { runId: run.run_id, pipeline: run.pipeline, outcome, modelVersion }, { runId: run.run_id });
  await startQueued(rt, tx, run.pipeline);
}

/** Applies one stage event to the run it belongs to. Events of unknown or finished runs change nothing. */
export async function applyStageEvent(rt: ServiceRuntime, ev: ReceivedEvent, tx: pg.PoolClient, clock: Clock = () => new Date()): Promise<void> {
  // Dead letters keep their original type; they are not stage results.
  if (ev.subject.startsWith(`${rt.config.subjectPrefix}.dlq.`)) return;
  const def = eventByType(ev.type);
  if (def === EVENTS.monitoringWindow) return onMonitoringWindow(rt, tx, ev, clock());
  // A run's own drift (training data vs the previous run's) is in its feature stage; live drift is a trigger.
  if (def === EVENTS.driftReport) return onLiveDrift(rt, tx, ev, clock());
  if (def === EVENTS.dataIngested) {
    const e = ev.decode(EVENTS.dataIngested.schema);
    if (e.rowsAccepted > 0n) await onNewRows(rt, tx, e.pipeline, Number(e.rowsAccepted), clock());
    return;
  }
  if (!def || !ev.runId) return;
  const run = await getRun(tx, ev.runId, true);
  if (!run || run.status !== 'running') return;
  switch (def) {
    case EVENTS.datasetPrepared: {
      const e = ev.decode(EVENTS.datasetPrepared.schema);
      const l = e.lineage;
      await closeStage(tx, run, 'ingestion', ev, e.timing, `snapshot ${l?.snapshotSha256.slice(0, 12)}: ${l?.rowsTrain} train / ${l?.rowsValidation} validation / ${l?.rowsTest} test rows`);
      // The size of the training set is what a relative volume policy compares new data with.
      await pipelineState(tx, run.pipeline);
      await updatePipelineState(tx, run.pipeline, { lastRunRows: Number(l?.rowsTrain ?? 0n) });
      break;
    }
    case EVENTS.featuresReady: {
      const e = ev.decode(EVENTS.featuresReady.schema);
      const drift = e.drift ? `; ${driftSummary(e.drift)}` : '';
      await closeStage(tx, run, 'feature', ev, e.timing, `${e.lineage?.featureNames.length ?? 0} features${drift}`);
      break;
    }
    case EVENTS.modelTrained: {
      const e = ev.decode(EVENTS.modelTrained.schema);
      await closeStage(tx, run, 'trainer', ev, e.timing, `${e.lineage?.epochs} epochs on ${e.lineage?.backend}`);
      break;
    }
    case EVENTS.modelEvaluated: {
      const e = ev.decode(EVENTS.modelEvaluated.schema);
      const verdict = Verdict[e.verdict].toLowerCase();
      await closeStage(tx, run, 'evaluator', ev, e.timing, verdict);
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
      await closeStage(tx, run, 'registry', ev, e.timing, e.promoted ? `${e.version} is the new champion` : `${e.version} registered, not promoted`);
      await updateRun(tx, run.run_id, { modelVersion: e.version });
      if (!e.promoted) await completeRun(rt, tx, run, 'rejected', e.version);
      break;
    }
    case EVENTS.modelServing: {
      const e = ev.decode(EVENTS.modelServing.schema);
      await closeStage(tx, run, 'deployer', ev, e.timing, `serving ${e.version}`);
      await completeRun(rt, tx, run, 'promoted', e.version);
      break;
    }
    case EVENTS.runFailed: {
      const e = ev.decode(EVENTS.runFailed.schema);
      await recordStage(tx, { runId: run.run_id, stage: e.stage, status: 'failed', computeMs: 0, startedAt: null, finishedAt: new Date(), eventType: ev.type, detail: e.reason });
      await updateRun(tx, run.run_id, { status: 'failed', failedStage: e.stage, failureReason: e.reason });
      await startQueued(rt, tx, run.pipeline);
      break;
    }
    default:
      break;
  }
}

/** Follows every stage event to keep each run's status and history. */
export async function consumeStageEvents(rt: ServiceRuntime, clock: Clock = () => new Date()): Promise<void> {
  await rt.consume({
    name: 'stage-events',
    event: '*',
    handle: (ev, tx) => applyStageEvent(rt, ev, tx, clock),
    // A broken stage event must not fail the run it reports on: log it and move on.
    onDeadLetter: async (ev, error) => {
      rt.logger.error({ err: error, eventId: ev.id, type: ev.type, runId: ev.runId }, 'could not apply stage event');
    },
  });
}

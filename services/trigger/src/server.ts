import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { RunStatus, type RunSchema, type TriggerService } from '@refit/contracts';
import { actorOf, InvalidInputError, NotFoundError, withTransaction, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type pg from 'pg';
import { listAlertsWithDeliveries } from './alert-list.js';
import { cancelRun } from './cancel.js';
import { decideManual, type DecideDeps } from './decide.js';
import { explainTriggers } from './explain.js';
import { applyPipeline } from './pipelines.js';
import type { Clock } from './policies.js';
import { NO_ALLOW, type WebhookAddressPolicy } from './webhook-address.js';
import { getPipeline, getRun, listPipelines, listRuns, stagesOf, type PipelineRow, type RunRow, type StageRow } from './store.js';

const STATUS: Record<RunRow['status'], RunStatus> = {
  running: RunStatus.RUNNING,
  succeeded: RunStatus.SUCCEEDED,
  failed: RunStatus.FAILED,
};

function toPipeline(p: PipelineRow) {
  return { name: p.name, version: p.version, specJson: p.spec_json, updatedAt: timestampFromDate(p.updated_at) };
}

/** Translates a run row and its stages to the wire message. */
export function toRun(r: RunRow, stages: StageRow[]): MessageInitShape<typeof RunSchema> {
  return {
    runId: r.run_id,
    pipeline: r.pipeline,
    status: STATUS[r.status],
    triggerKind: r.trigger_kind,
    reason: r.reason,
    createdAt: timestampFromDate(r.created_at),
    updatedAt: timestampFromDate(r.updated_at),
    stages: stages.map((s) => ({
      stage: s.stage,
      status: s.status,
      computeMs: BigInt(s.compute_ms),
      startedAt: s.started_at ? timestampFromDate(s.started_at) : undefined,
      finishedAt: timestampFromDate(s.finished_at),
      eventType: s.event_type,
      detail: s.detail,
    })),
    failedStage: r.failed_stage ?? '',
    failureReason: r.failure_reason ?? '',
    modelVersion: r.model_version ?? '',
    outcome: r.outcome ?? '',
    decisionReasons: r.decision.reasons ?? [],
    candidateMetrics: r.decision.candidateMetrics ?? {},
    championMetrics: r.decision.championMetrics ?? {},
    championVersion: r.decision.championVersion ?? '',
    specVersion: r.spec_version,
    decisionId: r.decision_id ?? '',
  };
}

async function runWithStages(pool: pg.Pool, runId: string) {
  const run = await getRun(pool, runId);
  if (!run) throw new NotFoundError(`run '${runId}' not found`);
  return toRun(run, await stagesOf(pool, [runId]));
}

/** What the trigger's gRPC handlers use: a manual decision's dependencies, the pool, the relay, the logger and the config (explain). */
export type TriggerHandlerDeps = DecideDeps & Pick<ServiceRuntime, 'pool' | 'relay' | 'logger' | 'config'>;

/**
 * gRPC handlers of the trigger service: translate, call the domain, translate back. `webhooks`
 * says which addresses a spec's webhooks may reach (default: public addresses only).
 */
export function createTriggerHandlers(rt: TriggerHandlerDeps, clock: Clock = () => new Date(), webhooks: WebhookAddressPolicy = { allow: NO_ALLOW }): ServiceHandlers<typeof TriggerService> {
  return {
    async applyPipeline(req, ctx) {
      if (!req.specYaml.trim()) throw new InvalidInputError('spec_yaml is empty');
      const { pipeline, changed } = await applyPipeline(rt, req.specYaml, webhooks);
      if (changed) rt.logger.info({ pipeline: pipeline.name, version: pipeline.version, actor: actorOf(ctx.identity) }, 'pipeline applied');
      return { pipeline: toPipeline(pipeline), changed };
    },
    async getPipeline(req) {
      const p = await getPipeline(rt.pool, req.name);
      if (!p) throw new NotFoundError(`pipeline '${req.name}' not found`);
      return { pipeline: toPipeline(p) };
    },
    async listPipelines() {
      return { pipelines: (await listPipelines(rt.pool)).map(toPipeline) };
    },
    async triggerRun(req, ctx) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      // Who asked is the authenticated caller, recorded with the reason in the decision and the run.
      const reason = `${req.reason || 'manual trigger'} (requested by ${actorOf(ctx.identity)})`;
      const d = await withTransaction(rt.pool, (tx) => decideManual(rt, tx, req.pipeline, reason, clock()));
      rt.relay.kick();
      const run = d.runId ? await getRun(rt.pool, d.runId) : undefined;
      return { run: run ? toRun(run, await stagesOf(rt.pool, [run.run_id])) : undefined, action: d.action, decisionId: d.decisionId, message: d.reason };
    },
    async explainTriggers(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      return explainTriggers(rt, req.pipeline, req.limit > 0 ? Math.min(req.limit, 500) : 50, clock());
    },
    async cancelRun(req, ctx) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
      await cancelRun(rt, req.runId, req.reason, actorOf(ctx.identity));
      return { run: await runWithStages(rt.pool, req.runId) };
    },
    async getRun(req) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
      return { run: await runWithStages(rt.pool, req.runId) };
    },
    async listAlerts(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      return { alerts: await listAlertsWithDeliveries(rt.pool, req.pipeline, req.limit > 0 ? Math.min(req.limit, 500) : 50) };
    },
    async listRuns(req) {
      const limit = req.limit > 0 ? Math.min(req.limit, 1000) : 20;
      const runs = await listRuns(rt.pool, req.pipeline || undefined, limit);
      const stages = await stagesOf(rt.pool, runs.map((r) => r.run_id));
      return { runs: runs.map((r) => toRun(r, stages.filter((s) => s.run_id === r.run_id))) };
    },
  };
}

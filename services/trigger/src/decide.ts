import { randomBytes } from 'node:crypto';
import { NotFoundError, type ServiceRuntime } from '@refit/platform';
import { specFromJson, type PipelineSpec } from '@refit/spec';
import type pg from 'pg';
import { alertOnFiredPolicy } from './alerts.js';
import { bumpConsecutive, decisionByEvidence, insertDecision, pipelineState, runFacts, setDecisionRun, updatePipelineState } from './decision-store.js';
import { applyHygiene, type HygieneAction } from './hygiene.js';
import type { Evaluation } from './policies.js';
import { startRun } from './pipelines.js';
import { getPipeline, type PipelineRow } from './store.js';

/** What became of one policy evaluation. */
export type Decision = { decisionId: string; fired: boolean; action: HygieneAction | 'none' | 'duplicate'; reason: string; runId?: string };

/** A new decision id: time-ordered and readable (`d-<base36 ms>-<6 hex>`). */
const newDecisionId = () => `d-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** Options of {@link decide}. */
export type DecideInput = {
  pipeline: PipelineRow;
  spec: PipelineSpec;
  /** Index of the policy in `spec.triggers` (-1 for a manual request on a pipeline without a manual policy). */
  policyIndex: number;
  /** manual, schedule, volume, age, external… */
  policy: string;
  evaluation: Evaluation;
  now: Date;
  /** A person asked (skips debounce and cool-down). */
  manual?: boolean;
  /** The reason the run records (default: the evaluation's sentence). */
  runReason?: string;
};

/**
 * Records one policy evaluation with its evidence and, when its condition holds, applies hygiene
 * and starts (or joins, or queues) a run — all in the caller's transaction, under a per-pipeline
 * lock so concurrent triggers cannot start two runs.
 */
export async function decide(rt: ServiceRuntime, tx: pg.PoolClient, d: DecideInput): Promise<Decision> {
  const name = d.pipeline.name;
  await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`trigger:${name}`]);
  const { evaluation: e } = d;
  if (e.evidenceKey) {
    const seen = await decisionByEvidence(tx, name, d.policyIndex, e.evidenceKey);
    if (seen) return { decisionId: seen.id, fired: seen.fired, action: 'duplicate', reason: `already decided: ${seen.reason}`, runId: seen.run_id ?? undefined };
  }
  const consecutive = await bumpConsecutive(tx, name, d.policyIndex, e.fired);
  const id = newDecisionId();
  const base = { id, pipeline: name, policy: d.policy, policy_index: d.policyIndex, spec_version: d.pipeline.version, fired: e.fired, measured: e.measured, thresholds: e.thresholds, evidence_key: e.evidenceKey ?? null };
  if (!e.fired) {
    await insertDecision(tx, { ...base, action: 'none', reason: e.reason, run_id: null });
    return { decisionId: id, fired: false, action: 'none', reason: e.reason };
  }
  const state = await pipelineState(tx, name);
  const facts = await runFacts(tx, name, d.now);
  const h = applyHygiene(d.spec.hygiene, { ...facts, queued: state.queued_decision_id !== null, consecutive }, d.now, d.manual ?? false);
  const reason = `${e.reason}; ${h.reason}`;
  let runId: string | undefined;
  if (h.action === 'coalesce') runId = facts.inFlightRunId;
  await insertDecision(tx, { ...base, action: h.action, reason, run_id: runId ?? null });
  if (h.action === 'start') {
    const run = await startRun(rt, tx, { pipeline: name, triggerKind: d.policy, reason: d.runReason ?? e.reason, decisionId: id });
    runId = run.run_id;
    await setDecisionRun(tx, id, runId);
    // The data that made this run is now part of it; volume counts from here.
    await updatePipelineState(tx, name, { rowsSinceRun: 0 });
  } else if (h.action === 'queue') {
    await updatePipelineState(tx, name, { queuedDecisionId: id });
  }
  const debouncing = !d.manual && consecutive < d.spec.hygiene.debounce;
  await alertOnFiredPolicy(rt, tx, { pipeline: name, spec: d.spec, policy: d.policy, decisionId: id, action: h.action, reason, runId, measured: e.measured, thresholds: e.thresholds, debouncing });
  // A run consumed the condition: debounce counts afresh.
  if (h.action === 'start') await bumpConsecutive(tx, name, d.policyIndex, false);
  return { decisionId: id, fired: true, action: h.action, reason, runId };
}

/** A manual retrain request (CLI, gRPC) through the same decision path as every policy. */
export async function decideManual(rt: ServiceRuntime, tx: pg.PoolClient, pipelineName: string, reason: string, now: Date): Promise<Decision> {
  const pipeline = await getPipeline(tx, pipelineName);
  if (!pipeline) throw new NotFoundError(`pipeline '${pipelineName}' not found; apply it first with 'refit pipeline apply -f <spec.yaml>'`);
  const spec = specFromJson(pipeline.spec_json);
  const decision = await decide(rt, tx, {
    pipeline,
    spec,
    policyIndex: spec.triggers.findIndex((t) => t.kind === 'manual'),
    policy: 'manual',
    evaluation: { fired: true, reason: `manual request: ${reason}`, measured: {}, thresholds: {} },
    now,
    manual: true,
    runReason: reason,
  });
  return decision;
}

/** After a run ends: start the run queued behind it, if any. */
export async function startQueued(rt: ServiceRuntime, tx: pg.PoolClient, pipelineName: string): Promise<string | undefined> {
  const state = await pipelineState(tx, pipelineName);
  if (!state.queued_decision_id) return undefined;
  await updatePipelineState(tx, pipelineName, { queuedDecisionId: null, rowsSinceRun: 0 });
  const run = await startRun(rt, tx, { pipeline: pipelineName, triggerKind: 'queued', reason: `queued by decision ${state.queued_decision_id}`, decisionId: state.queued_decision_id });
  await setDecisionRun(tx, state.queued_decision_id, run.run_id);
  return run.run_id;
}

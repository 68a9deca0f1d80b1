import { randomBytes } from 'node:crypto';
import { afterCommit, NotFoundError, type ServiceRuntime } from '@refit/platform';
import { specFromJson, type PipelineSpec } from '@refit/spec';
import type pg from 'pg';
import { alertOnFiredPolicy } from './alerts.js';
import { triggerMetrics } from './metrics.js';
import { bumpConsecutive, decisionByEvidence, insertDecision, latestDecision, pipelineState, repeatDecision, runFacts, setDecisionRun, updatePipelineState, type DecisionRow } from './decision-store.js';
import { applyHygiene, type HygieneAction } from './hygiene.js';
import type { Evaluation } from './policies.js';
import { startRun } from './pipelines.js';
import { getPipeline, type PipelineRow } from './store.js';

/** What became of one policy evaluation. */
export type Decision = { decisionId: string; fired: boolean; action: HygieneAction | 'none' | 'duplicate'; reason: string; runId?: string };

/**
 * What raising an alert takes: whatever alerts.ts asks for (today the whole runtime). Derived, not
 * restated, so {@link DecideDeps} narrows with it.
 */
type AlertDeps = Parameters<typeof alertOnFiredPolicy>[0];

/** What {@link decide} uses: the metrics it counts in, `publish` for a run it starts, and what a fired policy's alert needs. */
export type DecideDeps = Pick<ServiceRuntime, 'metrics' | 'publish'> & AlertDeps;

/** What starting a run uses: `publish` (`run.requested`, in the caller's transaction). */
export type RunStarter = Pick<ServiceRuntime, 'publish'>;

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
  /**
   * How many requests this one evaluation answers (default 1): a batch of external requests taken
   * together is one decision, the others counted on it as repeats.
   */
  count?: number;
};

/**
 * Takes the pipeline's decision lock (until the transaction ends; taking it again is free). Every
 * transaction that decides for a pipeline or changes its state row takes this lock FIRST: a
 * transaction that locked the state row and then waited for this lock deadlocked with a decision
 * holding this lock and reading the state row (new rows arriving during a manual trigger).
 */
export async function lockPipelineDecisions(tx: pg.PoolClient, pipeline: string): Promise<void> {
  await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`trigger:${pipeline}`]);
}

/**
 * Records one policy evaluation with its evidence and, when its condition holds, applies hygiene
 * and starts (or joins, or queues) a run — all in the caller's transaction, under a per-pipeline
 * lock so concurrent triggers cannot start two runs.
 */
export async function decide(rt: DecideDeps, tx: pg.PoolClient, d: DecideInput): Promise<Decision> {
  const name = d.pipeline.name;
  await lockPipelineDecisions(tx, name);
  const { evaluation: e } = d;
  if (e.evidenceKey) {
    const seen = await decisionByEvidence(tx, name, d.policyIndex, e.evidenceKey);
    if (seen) return { decisionId: seen.id, fired: seen.fired, action: 'duplicate', reason: `already decided: ${seen.reason}`, runId: seen.run_id ?? undefined };
  }
  const consecutive = await bumpConsecutive(tx, name, d.policyIndex, e.fired);
  // Counted once the decision is committed (a transaction retried after a failure decides again),
  // once per request it answers (a batch of external requests is one decision of `count`).
  const decided = (r: Decision): Decision => {
    afterCommit(tx, () => triggerMetrics(rt.metrics).decisions.inc({ pipeline: name, policy: d.policy, outcome: r.action }, d.count ?? 1));
    return r;
  };
  const id = newDecisionId();
  const more = Math.max(0, (d.count ?? 1) - 1);
  const base = {
    id,
    pipeline: name,
    policy: d.policy,
    policy_index: d.policyIndex,
    spec_version: d.pipeline.version,
    fired: e.fired,
    measured: e.measured,
    thresholds: e.thresholds,
    evidence_key: e.evidenceKey ?? null,
    ...(more > 0 ? { repeats: more, last_repeated_at: d.now, last_reason: e.reason } : {}),
  };
  if (!e.fired) {
    const same = await repeatOf(tx, d, { fired: false, action: 'none', reason: e.reason, runId: undefined });
    if (same) return decided({ decisionId: same.id, fired: false, action: 'none', reason: e.reason });
    await insertDecision(tx, { ...base, action: 'none', reason: e.reason, run_id: null });
    return decided({ decisionId: id, fired: false, action: 'none', reason: e.reason });
  }
  const state = await pipelineState(tx, name);
  const facts = await runFacts(tx, name, d.now);
  const h = applyHygiene(d.spec.hygiene, { ...facts, queued: state.queued_decision_id !== null, deferredUntil: state.deferred_until ?? undefined, consecutive }, d.now, d.manual ?? false);
  const reason = `${e.reason}; ${h.reason}`;
  let runId: string | undefined;
  if (h.action === 'coalesce') runId = facts.inFlightRunId;
  const same = await repeatOf(tx, d, { fired: true, action: h.action, reason, runId });
  if (same) return decided({ decisionId: same.id, fired: true, action: h.action, reason, runId });
  await insertDecision(tx, { ...base, action: h.action, reason, run_id: runId ?? null });
  if (h.action === 'start') {
    const run = await startRun(rt, tx, { pipeline: name, triggerKind: d.policy, reason: d.runReason ?? e.reason, decisionId: id });
    runId = run.run_id;
    await setDecisionRun(tx, id, runId);
    // The data that made this run is now part of it; volume counts from here.
    await updatePipelineState(tx, name, { rowsSinceRun: 0 });
  } else if (h.action === 'queue') {
    await updatePipelineState(tx, name, { queuedDecisionId: id });
  } else if (h.action === 'defer' && h.until) {
    await updatePipelineState(tx, name, { deferred: { decisionId: id, until: h.until } });
  }
  const debouncing = !d.manual && consecutive < d.spec.hygiene.debounce;
  await alertOnFiredPolicy(rt, tx, { pipeline: name, spec: d.spec, policy: d.policy, decisionId: id, action: h.action, reason, runId, measured: e.measured, thresholds: e.thresholds, debouncing });
  // A run consumed the condition: debounce counts afresh.
  if (h.action === 'start') await bumpConsecutive(tx, name, d.policyIndex, false);
  return decided({ decisionId: id, fired: true, action: h.action, reason, runId });
}

/**
 * A decision that changes nothing and repeats the policy's latest one is counted on that one, not
 * stored again: the same outcome (joining the same run, suppressed again, not fired) for the same
 * reason word for word — or, for an external request, whatever words it came with. A flood of
 * external events then costs one row, not one per event. Manual requests, anything that starts,
 * queues or defers a run, and a new measurement (another drift window, another count) are stored.
 */
async function repeatOf(tx: pg.PoolClient, d: DecideInput, o: { fired: boolean; action: string; reason: string; runId: string | undefined }): Promise<DecisionRow | undefined> {
  if (d.manual || !['coalesce', 'suppress', 'none'].includes(o.action)) return undefined;
  const last = await latestDecision(tx, d.pipeline.name, d.policyIndex);
  if (!last || last.fired !== o.fired || last.action !== o.action || (last.run_id ?? undefined) !== o.runId || last.spec_version !== d.pipeline.version) return undefined;
  // Another measurement is evidence of its own; an external request carries none but its words.
  if (last.reason !== o.reason && d.policy !== 'external') return undefined;
  await repeatDecision(tx, last.id, d.now, o.reason, d.count ?? 1);
  return last;
}

/** A manual retrain request (CLI, gRPC) through the same decision path as every policy. */
export async function decideManual(rt: DecideDeps, tx: pg.PoolClient, pipelineName: string, reason: string, now: Date): Promise<Decision> {
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

/**
 * A run deferred by the cool-down, once it is due: it starts now, or — when a run started
 * meanwhile — is queued behind that one (or joins the one already queued).
 */
export async function startDeferred(rt: RunStarter, tx: pg.PoolClient, pipelineName: string, now: Date): Promise<string | undefined> {
  await lockPipelineDecisions(tx, pipelineName);
  const state = await pipelineState(tx, pipelineName);
  const decisionId = state.deferred_decision_id;
  if (!decisionId || !state.deferred_until || state.deferred_until > now) return undefined;
  await updatePipelineState(tx, pipelineName, { deferred: null });
  const facts = await runFacts(tx, pipelineName, now);
  if (facts.inFlightRunId) {
    if (!state.queued_decision_id) await updatePipelineState(tx, pipelineName, { queuedDecisionId: decisionId });
    return undefined;
  }
  await updatePipelineState(tx, pipelineName, { rowsSinceRun: 0 });
  const run = await startRun(rt, tx, { pipeline: pipelineName, triggerKind: 'deferred', reason: `deferred by the cool-down (decision ${decisionId})`, decisionId });
  await setDecisionRun(tx, decisionId, run.run_id);
  return run.run_id;
}

/** After a run ends: start the run queued behind it, if any. */
export async function startQueued(rt: RunStarter, tx: pg.PoolClient, pipelineName: string): Promise<string | undefined> {
  await lockPipelineDecisions(tx, pipelineName);
  const state = await pipelineState(tx, pipelineName);
  if (!state.queued_decision_id) return undefined;
  await updatePipelineState(tx, pipelineName, { queuedDecisionId: null, rowsSinceRun: 0 });
  const run = await startRun(rt, tx, { pipeline: pipelineName, triggerKind: 'queued', reason: `queued by decision ${state.queued_decision_id}`, decisionId: state.queued_decision_id });
  await setDecisionRun(tx, state.queued_decision_id, run.run_id);
  return run.run_id;
}

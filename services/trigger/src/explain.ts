import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { triggerEvidenceFromJson, triggerThresholdsFromJson, type ExplainTriggersResponseSchema } from '@refit/contracts';
import { NotFoundError, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { getDecision, lastSlot, listDecisions, pipelineState, runFacts } from './decision-store.js';
import { evaluateAge, evaluateVolume, nextSlot } from './policies.js';
import { performanceSummary } from './performance.js';
import { latestPerformanceState } from './performance-store.js';
import { getPipeline, listRuns } from './store.js';

/**
 * Why the last run started and why nothing fired since: the decision that started the latest
 * run, then each policy's state now (in plain words), then the recorded decisions, newest first.
 */
export async function explainTriggers(rt: Pick<ServiceRuntime, 'pool' | 'config'>, name: string, limit: number, now: Date): Promise<MessageInitShape<typeof ExplainTriggersResponseSchema>> {
  const pipeline = await getPipeline(rt.pool, name);
  if (!pipeline) throw new NotFoundError(`pipeline '${name}' not found`);
  const spec = specFromJson(pipeline.spec_json);
  const summary: string[] = [];
  const [last] = await listRuns(rt.pool, name, 1);
  if (!last) summary.push('no run yet');
  else {
    const started = last.decision_id ? await getDecision(rt.pool, last.decision_id) : undefined;
    summary.push(
      `last run ${last.run_id} (${last.status}${last.outcome ? `, ${last.outcome}` : ''}) started ${last.created_at.toISOString()} by ${last.trigger_kind}: ${started?.reason ?? last.reason}`,
    );
  }
  const facts = await runFacts(rt.pool, name, now);
  const client = await rt.pool.connect();
  let state;
  try {
    state = await pipelineState(client, name);
  } finally {
    client.release();
  }
  for (const [i, p] of spec.triggers.entries()) {
    switch (p.kind) {
      case 'manual':
        summary.push('manual: runs when asked (refit trigger)');
        break;
      case 'schedule': {
        const decided = await lastSlot(rt.pool, name, i);
        summary.push(`schedule '${p.cron}' (${p.timezone}): last slot decided ${decided?.toISOString() ?? 'none yet'}, next ${nextSlot(p, now).toISOString()}`);
        break;
      }
      case 'volume':
        summary.push(`volume: ${evaluateVolume(p, Number(state.rows_since_run), Number(state.last_run_rows)).reason}`);
        break;
      case 'age':
        summary.push(`age: ${evaluateAge(p, facts.lastTrainedAt, now).reason}`);
        break;
      case 'performance':
        summary.push(`performance: ${performanceSummary(p, await latestPerformanceState(rt.pool, name, i))}`);
        break;
      case 'drift': {
        const limits = Object.entries(p.features ?? {}).flatMap(([name, f]) => (f.psi === undefined ? [] : [`${name} PSI > ${f.psi}`]));
        const rules = [...(p.maxShare !== undefined ? [`a drifted-feature share >= ${p.maxShare}`] : []), ...limits].join(' or ');
        summary.push(`drift: fires when a live feature window drifts from the served model's training data: ${rules} (windows of at least ${p.minSamples} rows)`);
        break;
      }
      case 'continuous':
        summary.push('continuous: every new batch starts a run that warm-starts from the champion');
        break;
      case 'business':
        summary.push(`business: fires when ${p.metric} reported on ${rt.config.subjectPrefix}.external.metric by ${p.sources.join(', ')} is ${[p.below !== undefined ? `below ${p.below}` : '', p.above !== undefined ? `above ${p.above}` : ''].filter(Boolean).join(' or ')}`);
        break;
      case 'external':
        summary.push(`external: runs on ${rt.config.subjectPrefix}.external.retrain from ${p.sources.join(', ')}`);
        break;
    }
  }
  if (facts.inFlightRunId) summary.push(`run ${facts.inFlightRunId} is ${facts.inFlightInRollout ? 'in its rollout' : 'in flight'}${state.queued_decision_id ? '; one run is queued behind it' : ''}`);
  if (state.deferred_until) summary.push(`a run deferred by the cool-down starts at ${state.deferred_until.toISOString()} (decision ${state.deferred_decision_id})`);
  summary.push(
    `hygiene: debounce ${spec.hygiene.debounce}, cool-down ${spec.hygiene.cooldownMinutes} min (triggers during it are deferred to its end), at most ${spec.hygiene.maxRunsPerDay} runs/day (${facts.runsLast24h} in the last 24 h), when busy: ${spec.hygiene.whenBusy}, during a rollout: ${spec.hygiene.duringRollout}`,
  );
  const decisions = await listDecisions(rt.pool, name, limit);
  return {
    summary,
    decisions: decisions.map((d) => ({
      id: d.id,
      pipeline: d.pipeline,
      policy: d.policy,
      policyIndex: d.policy_index,
      specVersion: d.spec_version,
      fired: d.fired,
      action: d.action,
      reason: d.reason,
      // The JSON for one release (clients before the typed fields), then only measured/thresholds.
      measuredJson: JSON.stringify(d.measured),
      thresholdsJson: JSON.stringify(d.thresholds),
      measured: triggerEvidenceFromJson(d.measured),
      thresholds: triggerThresholdsFromJson(d.thresholds),
      runId: d.run_id ?? '',
      createdAt: timestampFromDate(d.created_at),
      repeats: d.repeats ?? 0,
      lastRepeatedAt: d.last_repeated_at ? timestampFromDate(d.last_repeated_at) : undefined,
      lastReason: d.last_reason ?? '',
    })),
  };
}

import { RegistryService, Verdict, type ModelVersion } from '@refit/contracts';
import { createClient, EVENTS, extendLineage, isNotFound, stageTiming, wireRef, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type { EvaluatorConfig } from './config.js';
import { evaluateCandidate } from './evaluate.js';
import type { GateOutcome } from './gates.js';
import { cancellationOf, insertReport, markCancelled } from './store.js';

/** The wire verdict of a gate outcome. */
const VERDICT: Record<GateOutcome, Verdict> = { pass: Verdict.PASS, fail: Verdict.FAIL, inconclusive: Verdict.INCONCLUSIVE };
/** How each outcome starts its sentence in `reasons`. */
const OUTCOME_WORD: Record<GateOutcome, string> = { pass: 'pass', fail: 'FAIL', inconclusive: 'INCONCLUSIVE' };

/**
 * Consumes `model.trained` (score candidate and champion, apply the gates, emit `model.evaluated`)
 * and `run.cancelled` (a cancelled run's candidate is never evaluated, even when the trainer had
 * already emitted it).
 */
export async function consumeEvaluatorEvents(rt: ServiceRuntime, config: Readonly<EvaluatorConfig>): Promise<void> {
  const registry = createClient(RegistryService, config.registryAddress);
  const championOf = async (pipeline: string): Promise<ModelVersion | undefined> => {
    try {
      return (await registry.getAlias({ pipeline, alias: 'champion' }, { timeoutMs: 10_000 })).model;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  await rt.consume({
    name: 'run-cancelled',
    event: EVENTS.runCancelled,
    handle: async (ev, tx) => {
      const e = ev.decode(EVENTS.runCancelled.schema);
      if (e.runId) await markCancelled(tx, e.runId, e.reason);
    },
  });
  await rt.consume({
    name: 'model-trained',
    event: EVENTS.modelTrained,
    handle: async (ev, tx, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.modelTrained.schema);
      if (!e.context || !e.lineage) return;
      if ((await cancellationOf(tx, e.context.runId)) !== undefined) {
        logger.info('run was cancelled; not evaluating');
        return;
      }
      const spec = specFromJson(e.context.specJson);
      const champion = await championOf(spec.name);
      const evaluation = await evaluateCandidate(rt, config, spec, e.lineage, champion);
      // The run may have been cancelled while both models were scored.
      if ((await cancellationOf(tx, e.context.runId)) !== undefined) {
        logger.info('run was cancelled during the evaluation; not emitting');
        return;
      }
      const verdict = VERDICT[evaluation.verdict];
      const reasons = evaluation.gates.map((g) => `${OUTCOME_WORD[g.outcome]}: ${g.reason}`);
      const report = {
        runId: e.context.runId,
        pipeline: spec.name,
        verdict: evaluation.verdict,
        gates: evaluation.gates,
        candidate: { metrics: evaluation.candidate, model: e.lineage.model?.key },
        champion: evaluation.champion ? { version: evaluation.champion.version, metrics: evaluation.champion.metrics } : null,
        rowsTest: evaluation.rowsTest,
        comparisons: evaluation.comparisons,
        slices: evaluation.slices,
        fairness: evaluation.fairness,
        holdout: evaluation.holdout ?? null,
        consistency: evaluation.consistency ?? null,
        backtest: evaluation.backtest ?? null,
        thresholds: evaluation.thresholds ?? null,
        spec: { gates: spec.gates, evaluation: spec.evaluation, business: spec.business ?? null },
      };
      const reportRef = await rt.store.putContentAddressed(`pipelines/${spec.name}/reports`, Buffer.from(JSON.stringify(report, null, 2)), '.json');
      await insertReport(tx, { runId: e.context.runId, pipeline: spec.name, evaluation, verdict, reasons, reportRef });
      await rt.publish(
        tx,
        EVENTS.modelEvaluated,
        {
          context: e.context,
          lineage: extendLineage(e.lineage, { evaluationReport: wireRef(reportRef) }),
          timing: stageTiming('evaluator', started),
          verdict,
          reasons,
          candidateMetrics: evaluation.candidate,
          championMetrics: evaluation.champion?.metrics ?? {},
          championVersion: evaluation.champion?.version ?? '',
        },
        { runId: e.context.runId, traceId: ev.traceId },
      );
      logger.info({ verdict: evaluation.verdict, candidate: evaluation.candidate, champion: evaluation.champion }, 'candidate evaluated');
    },
  });
}

import { RegistryService, Verdict, type ModelVersion } from '@refit/contracts';
import { createClient, EVENTS, extendLineage, isNotFound, stageTiming, wireRef, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type { EvaluatorConfig } from './config.js';
import { evaluateCandidate, evidenceSentence } from './evaluate.js';
import { insertReport } from './store.js';

/** Consumes `model.trained`: score candidate and champion, apply the gates, emit `model.evaluated`. */
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
    name: 'model-trained',
    event: EVENTS.modelTrained,
    handle: async (ev, tx, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.modelTrained.schema);
      if (!e.context || !e.lineage) return;
      const spec = specFromJson(e.context.specJson);
      const champion = await championOf(spec.name);
      const evaluation = await evaluateCandidate(rt, config, spec, e.lineage, champion);
      const reasons = evaluation.gates.map((g) => `${g.passed ? 'pass' : 'FAIL'}: ${g.reason}`);
      if (evaluation.significance) reasons.push(`info: ${evidenceSentence(evaluation.significance)}`);
      const report = {
        runId: e.context.runId,
        pipeline: spec.name,
        verdict: Verdict[evaluation.verdict].toLowerCase(),
        gates: evaluation.gates,
        candidate: { metrics: evaluation.candidate, model: e.lineage.model?.key },
        champion: evaluation.champion ? { version: evaluation.champion.version, metrics: evaluation.champion.metrics } : null,
        rowsTest: evaluation.rowsTest,
        significance: evaluation.significance ?? null,
        spec: { gates: spec.gates },
      };
      const reportRef = await rt.store.putContentAddressed(`pipelines/${spec.name}/reports`, Buffer.from(JSON.stringify(report, null, 2)), '.json');
      await insertReport(tx, { runId: e.context.runId, pipeline: spec.name, evaluation, reasons, reportRef });
      await rt.publish(
        tx,
        EVENTS.modelEvaluated,
        {
          context: e.context,
          lineage: extendLineage(e.lineage, { evaluationReport: wireRef(reportRef) }),
          timing: stageTiming('evaluator', started),
          verdict: evaluation.verdict,
          reasons,
          candidateMetrics: evaluation.candidate,
          championMetrics: evaluation.champion?.metrics ?? {},
          championVersion: evaluation.champion?.version ?? '',
        },
        { runId: e.context.runId, traceId: ev.traceId },
      );
      logger.info({ verdict: report.verdict, candidate: evaluation.candidate, champion: evaluation.champion }, 'candidate evaluated');
    },
  });
}

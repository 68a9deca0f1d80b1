import { RegistryService, Verdict, type Lineage, type ModelVersion, type RunContext } from '@refit/contracts';
import { EVENTS, extendLineage, isNotFound, stageTiming, wireRef, type ArtifactRef, type HandlerContext, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type { BacktestedEvaluation } from './backtest.js';
import type { EvaluatorConfig } from './config.js';
import { evaluateCandidate } from './evaluate.js';
import { evaluatorMetrics } from './metrics.js';
import type { GateOutcome } from './gates.js';
import { reportDocument } from './report.js';
import { cancellationOf, insertReport, markCancelled } from './store.js';

/** The wire verdict of a gate outcome. */
const VERDICT: Record<GateOutcome, Verdict> = { pass: Verdict.PASS, fail: Verdict.FAIL, inconclusive: Verdict.INCONCLUSIVE };
/** How each outcome starts its sentence in `reasons`. */
const OUTCOME_WORD: Record<GateOutcome, string> = { pass: 'pass', fail: 'FAIL', inconclusive: 'INCONCLUSIVE' };

/** A finished evaluation, for its effects (the report row and `model.evaluated`). */
type Evaluated = { context: RunContext; lineage: Lineage; pipeline: string; started: number; evaluation: BacktestedEvaluation; reasons: string[]; reportRef: ArtifactRef };

/** What the evaluation work needs: the champion of a pipeline, asked of the registry. */
type ChampionOf = (pipeline: string, signal: AbortSignal) => Promise<ModelVersion | undefined>;

/**
 * Scores the candidate of a `model.trained` event (and the champion) and stores the report,
 * outside any transaction: undefined for a cancelled run. The report is content-addressed, so
 * evaluating again after a crash or a hand-back stores the same object.
 */
async function evaluateRun(rt: Pick<ServiceRuntime, 'pool' | 'store'>, config: Readonly<EvaluatorConfig>, championOf: ChampionOf, ev: ReceivedEvent, { logger, signal }: HandlerContext): Promise<Evaluated | undefined> {
  const started = Date.now();
  const e = ev.decode(EVENTS.modelTrained.schema);
  if (!e.context || !e.lineage) return undefined;
  if ((await cancellationOf(rt.pool, e.context.runId)) !== undefined) {
    logger.info('run was cancelled; not evaluating');
    return undefined;
  }
  const spec = specFromJson(e.context.specJson);
  const champion = await championOf(spec.name, signal);
  signal.throwIfAborted();
  const evaluation = await evaluateCandidate(rt, config, spec, e.lineage, champion);
  signal.throwIfAborted();
  const reasons = evaluation.gates.map((g) => `${OUTCOME_WORD[g.outcome]}: ${g.reason}`);
  if (evaluation.leftOut) reasons.push(`note: evaluated on ${evaluation.rowsTest} of ${evaluation.leftOut.of} test rows: ${evaluation.leftOut.reason}, so they were left out`);
  const report = reportDocument(e.context.runId, spec, e.lineage, evaluation);
  const reportRef = await rt.store.putContentAddressed(`pipelines/${spec.name}/reports`, Buffer.from(JSON.stringify(report, null, 2)), '.json');
  return { context: e.context, lineage: e.lineage, pipeline: spec.name, started, evaluation, reasons, reportRef };
}

/** What the evaluator's consumers use of the runtime (the work reads and writes the pool and the object store). */
export type EvaluatorEventsDeps = Pick<ServiceRuntime, 'connect' | 'consume' | 'publish' | 'metrics' | 'pool' | 'store'>;

/**
 * Consumes `model.trained` (score candidate and champion, apply the gates, emit `model.evaluated`)
 * and `run.cancelled` (a cancelled run's candidate is never evaluated, even when the trainer had
 * already emitted it). Scoring runs outside any transaction; only its effects take a short one.
 */
export async function consumeEvaluatorEvents(rt: EvaluatorEventsDeps, config: Readonly<EvaluatorConfig>): Promise<void> {
  const registry = rt.connect(RegistryService, config.registryAddress);
  const championOf: ChampionOf = async (pipeline, signal) => {
    try {
      return (await registry.getAlias({ pipeline, alias: 'champion' }, { timeoutMs: 10_000, signal })).model;
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
  await rt.consume<Evaluated | undefined>({
    name: 'model-trained',
    event: EVENTS.modelTrained,
    concurrency: 2,
    work: (ev, ctx) => evaluateRun(rt, config, championOf, ev, ctx),
    effects: async (evaluated, tx, { ev, logger, afterCommit }) => {
      if (!evaluated) return;
      const { context, evaluation, reasons, reportRef } = evaluated;
      // The run may have been cancelled while both models were scored.
      if ((await cancellationOf(tx, context.runId)) !== undefined) {
        logger.info('run was cancelled during the evaluation; not emitting');
        return;
      }
      const verdict = VERDICT[evaluation.verdict];
      await insertReport(tx, { runId: context.runId, pipeline: evaluated.pipeline, evaluation, verdict, reasons, reportRef });
      await rt.publish(
        tx,
        EVENTS.modelEvaluated,
        {
          context,
          lineage: extendLineage(evaluated.lineage, { evaluationReport: wireRef(reportRef) }),
          timing: stageTiming('evaluator', evaluated.started),
          verdict,
          reasons,
          candidateMetrics: evaluation.candidate,
          championMetrics: evaluation.champion?.metrics ?? {},
          championVersion: evaluation.champion?.version ?? '',
        },
        { runId: context.runId, traceId: ev.traceId },
      );
      logger.info({ verdict: evaluation.verdict, candidate: evaluation.candidate, champion: evaluation.champion }, 'candidate evaluated');
      afterCommit(() => evaluatorMetrics(rt.metrics).verdicts.inc({ pipeline: evaluated.pipeline, verdict: evaluation.verdict }));
    },
  });
}

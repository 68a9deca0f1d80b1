/**
 * Reads what each page shows through the services' gRPC APIs, always with a limit. The page's main
 * object must be read (its error becomes the error page); extra parts that fail are listed as
 * problems so the rest of the page still shows.
 */
import type { CallOptions } from '@refit/platform';
import { isNotFound, isPermissionDenied, isUnauthenticated } from '@refit/platform';
import type { ModelsDetail, PipelineDetail, PipelineSummary, RolloutDetail, RunDetail } from '@refit/views';
import type { Api } from './api.js';

/** Most runs a pipeline page lists at once; the first page shows {@link RUNS_PAGE}. */
export const RUNS_MAX = 500;
/** Runs on the first page of a pipeline. */
export const RUNS_PAGE = 50;
/** Trigger decisions read per pipeline (the newest; enough for every policy's latest). */
const DECISIONS = 50;
/** Alerts read per pipeline. */
const ALERTS = 10;
/** Versions and ledger entries shown at most. */
export const MODELS_PAGE = 100;

/**
 * Runs `fn`; on failure records why in `problems` and returns undefined. NOT_FOUND means "none"
 * (no champion yet, no rollout) and is not a problem; a refused credential is rethrown so the
 * person sees the sign-in or refusal page rather than a half-empty one.
 */
export async function attempt<T>(what: string, problems: string[], fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    if (isUnauthenticated(err)) throw err;
    problems.push(`${what}: ${isPermissionDenied(err) ? err.message : err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** Recent monitoring windows a summary pools for the champion's live quality. */
const WINDOWS = 50;

/** Champion, trigger state, rollout, alerts and recent live windows of one pipeline, read in parallel. */
export async function loadSummary(api: Api, o: CallOptions, name: string): Promise<PipelineSummary> {
  const problems: string[] = [];
  const [pipeline, champion, explain, rollout, alerts, windows] = await Promise.all([
    api.trigger.getPipeline({ name }, o),
    attempt('champion', problems, async () => (await api.registry.getAlias({ pipeline: name, alias: 'champion' }, o)).model),
    attempt('triggers', problems, () => api.trigger.explainTriggers({ pipeline: name, limit: DECISIONS }, o)),
    attempt('rollout', problems, async () => (await api.deployer.getRollout({ pipeline: name }, o)).rollout),
    attempt('alerts', problems, async () => (await api.trigger.listAlerts({ pipeline: name, limit: ALERTS }, o)).alerts),
    attempt('live windows', problems, async () => (await api.deployer.listWindows({ pipeline: name, limit: WINDOWS }, o)).windows),
  ]);
  if (!pipeline.pipeline) throw new Error(`the trigger service returned no pipeline ${name}`);
  return { pipeline: pipeline.pipeline, champion, explain, rollout, alerts: alerts ?? [], windows: windows ?? [], problems };
}

/** Every pipeline's summary (`/`). */
export async function loadPipelines(api: Api, o: CallOptions): Promise<PipelineSummary[]> {
  const { pipelines } = await api.trigger.listPipelines({}, o);
  return Promise.all(pipelines.map((p) => loadSummary(api, o, p.name)));
}

/** Data batches shown on a pipeline page. */
const BATCHES = 10;

/**
 * One pipeline with a page of its newest runs (one more than asked tells whether there are more)
 * and, for the page but not its live JSON, the newest data batches.
 */
export async function loadPipeline(api: Api, o: CallOptions, name: string, limit: number, withBatches = false): Promise<PipelineDetail> {
  const problems: string[] = [];
  const [summary, runs, deployment, batches] = await Promise.all([
    loadSummary(api, o, name),
    api.trigger.listRuns({ pipeline: name, limit: Math.min(limit + 1, RUNS_MAX + 1) }, o),
    attempt('deployment', problems, async () => (await api.deployer.getDeployment({ pipeline: name }, o)).deployment),
    // ListBatches has no limit on the wire: only the page reads it, never the once-a-second poll.
    withBatches ? attempt('data batches', problems, async () => (await api.ingestion.listBatches({ pipeline: name }, o)).batches) : Promise.resolve(undefined),
  ]);
  const more = runs.runs.length > limit && limit < RUNS_MAX;
  const newest = batches && [...batches].sort((a, b) => Number((b.createdAt?.seconds ?? 0n) - (a.createdAt?.seconds ?? 0n)));
  return {
    ...summary,
    problems: [...summary.problems, ...problems],
    deployment,
    runs: runs.runs.slice(0, limit),
    limit,
    moreLimit: more ? Math.min(RUNS_MAX, limit * 2) : undefined,
    batches: newest?.slice(0, BATCHES),
    totalBatches: newest?.length,
  };
}

/** A run with its trigger decision, training, trials and evaluation. */
export async function loadRun(api: Api, o: CallOptions, runId: string): Promise<RunDetail> {
  const { run } = await api.trigger.getRun({ runId }, o);
  if (!run) throw new Error(`the trigger service returned no run ${runId}`);
  const problems: string[] = [];
  const [explain, report, job, trials, progress] = await Promise.all([
    attempt('trigger decision', problems, () => api.trigger.explainTriggers({ pipeline: run.pipeline, limit: DECISIONS }, o)),
    attempt('evaluation', problems, async () => (await api.evaluator.getReport({ runId }, o)).report),
    attempt('training job', problems, async () => (await api.trainer.getJob({ runId }, o)).job),
    attempt('trials', problems, async () => (await api.trainer.listTrials({ runId }, o)).trials),
    attempt('training progress', problems, async () => (await api.trainer.getProgress({ runId }, o)).progress),
  ]);
  const decision = explain?.decisions.find((d) => d.id === run.decisionId);
  return { run, decision, report, job, trials: trials ?? [], progress, problems };
}

/** A pipeline's rollout. */
export async function loadRollout(api: Api, o: CallOptions, pipeline: string): Promise<RolloutDetail> {
  await api.trigger.getPipeline({ name: pipeline }, o);
  const problems: string[] = [];
  const rollout = await attempt('rollout', problems, async () => (await api.deployer.getRollout({ pipeline }, o)).rollout);
  return { pipeline, rollout, problems, nowMs: Date.now() };
}

/** Versions (newest first, one page), the ledger (newest first, one page) and, when asked, its verification. */
export async function loadModels(api: Api, o: CallOptions, pipeline: string, verify: boolean): Promise<ModelsDetail> {
  await api.trigger.getPipeline({ name: pipeline }, o);
  const problems: string[] = [];
  // ListModels and ListLedger have no limit on the wire yet: the page shows the newest of what they return.
  const [models, ledger, verified] = await Promise.all([
    attempt('versions', problems, async () => (await api.registry.listModels({ pipeline }, o)).models),
    attempt('ledger', problems, async () => (await api.registry.listLedger({ pipeline }, o)).entries),
    verify ? attempt('ledger verification', problems, () => api.registry.verifyLedger({ pipeline }, o)) : Promise.resolve(undefined),
  ]);
  const newestModels = [...(models ?? [])].sort((a, b) => versionNumber(b.version) - versionNumber(a.version));
  const newestLedger = [...(ledger ?? [])].reverse();
  return { pipeline, models: newestModels.slice(0, MODELS_PAGE), totalModels: newestModels.length, ledger: newestLedger.slice(0, MODELS_PAGE), totalLedger: newestLedger.length, verify: verified, problems };
}

const versionNumber = (v: string): number => Number(/^v(\d+)$/.exec(v)?.[1] ?? 0);

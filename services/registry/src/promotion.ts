import { create, toJson } from '@bufbuild/protobuf';
import { LineageSchema, Verdict, type ModelEvaluated } from '@refit/contracts';
import { EVENTS, stageTiming, type ServiceRuntime } from '@refit/platform';
import type pg from 'pg';
import { getAlias, insertModel, modelOfRun, moveAlias } from './store.js';

/**
 * Registers an evaluated candidate as an immutable model version and, only when its evaluation
 * passed, makes it the champion (the old champion becomes `previous`).
 */
export async function registerEvaluated(rt: ServiceRuntime, tx: pg.PoolClient, e: ModelEvaluated, traceId?: string): Promise<void> {
  const started = Date.now();
  const ctx = e.context;
  if (!ctx) return;
  if (await modelOfRun(tx, ctx.runId)) return;
  const passed = e.verdict === Verdict.PASS;
  const model = await insertModel(tx, {
    pipeline: ctx.pipeline,
    runId: ctx.runId,
    lineage: toJson(LineageSchema, e.lineage ?? create(LineageSchema)),
    verdict: Verdict[e.verdict].toLowerCase(),
    reasons: e.reasons,
    metrics: e.candidateMetrics,
    triggerKind: ctx.triggerKind,
    triggerReason: ctx.triggerReason,
    promotedBy: passed ? `evaluation gates of run ${ctx.runId}` : '',
  });
  let previous: string | undefined;
  if (passed) {
    const champion = await getAlias(tx, ctx.pipeline, 'champion');
    previous = champion?.version;
    const reason = `run ${ctx.runId} passed its evaluation gates`;
    await moveAlias(tx, { pipeline: ctx.pipeline, alias: 'champion', version: model.version, expectedRevision: champion?.revision, runId: ctx.runId, reason, previousVersion: previous });
    if (previous) {
      const prevAlias = await getAlias(tx, ctx.pipeline, 'previous');
      await moveAlias(tx, { pipeline: ctx.pipeline, alias: 'previous', version: previous, expectedRevision: prevAlias?.revision, runId: ctx.runId, reason: `replaced as champion by ${model.version}`, previousVersion: prevAlias?.version });
      await rt.publish(tx, EVENTS.aliasChanged, { pipeline: ctx.pipeline, alias: 'previous', version: previous, previousVersion: prevAlias?.version ?? '', runId: ctx.runId }, { runId: ctx.runId, traceId });
    }
    await rt.publish(tx, EVENTS.aliasChanged, { pipeline: ctx.pipeline, alias: 'champion', version: model.version, previousVersion: previous ?? '', runId: ctx.runId }, { runId: ctx.runId, traceId });
  }
  await rt.publish(
    tx,
    EVENTS.modelRegistered,
    { context: ctx, version: model.version, promoted: passed, previousChampion: previous ?? '', verdict: e.verdict, timing: stageTiming('registry', started) },
    { runId: ctx.runId, traceId },
  );
}

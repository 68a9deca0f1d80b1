import { create, toJson } from '@bufbuild/protobuf';
import { LineageSchema, Verdict, type StreamUpdateProven } from '@refit/contracts';
import { EVENTS, stageTiming } from '@refit/platform';
import type pg from 'pg';
import { appendLedger } from './ledger.js';
import { rollOutOrPromote, type LedgerWriter } from './promotion.js';
import { getAlias, modelOfRun, insertModel } from './store.js';

/**
 * Why a learner's claim does not hold, or undefined when it does: the evidence must show the
 * learner better by the anytime-valid test it names (p ≤ α, a positive lower bound) against the
 * champion that is still the champion, on a model it stored.
 */
export function streamClaimProblem(e: StreamUpdateProven, championNow: string | undefined): string | undefined {
  const ev = e.evidence;
  if (!e.lineage?.model?.key || !e.lineage.transform?.key) return 'the learner named no model or transform';
  if (!ev) return 'the learner sent no evidence';
  if (!(ev.alpha > 0 && ev.alpha < 0.5)) return `its test level ${ev.alpha} is outside (0, 0.5)`;
  if (!(ev.pValue <= ev.alpha) || !(ev.lower > 0) || !(ev.improvement > 0) || ev.rows <= 0n) {
    return `its evidence does not show it better (p = ${ev.pValue}, α = ${ev.alpha}, lower bound ${ev.lower}, ${ev.rows} rows)`;
  }
  if ((championNow ?? '') !== e.championVersion) return `it was judged against ${e.championVersion || 'no champion'}, but the champion is ${championNow ?? 'none'} now`;
  return undefined;
}

/**
 * Registers a stream learner's proven replacement as a model version, records the prequential
 * evidence as its gate verdict, and rolls it out (or promotes it) as a batch run that passed its
 * gates would be. A claim that does not hold is registered as failed and never promoted.
 */
export async function registerStreamProven(rt: LedgerWriter, tx: pg.PoolClient, e: StreamUpdateProven, traceId?: string): Promise<void> {
  const started = Date.now();
  const ctx = e.context;
  if (!ctx?.runId || !ctx.pipeline) return;
  if (await modelOfRun(tx, ctx.runId)) return;
  const champion = await getAlias(tx, ctx.pipeline, 'champion');
  const problem = streamClaimProblem(e, champion?.version);
  const passed = problem === undefined;
  const ev = e.evidence;
  const verdict = passed ? 'pass' : 'fail';
  const why = passed
    ? `the stream learner beat champion ${e.championVersion} prequentially on ${ev?.rows ?? 0n} labeled rows: log loss ${ev?.learnerLogLoss.toFixed(4)} vs ${ev?.championLogLoss.toFixed(4)}, improvement ${ev?.improvement.toFixed(4)} [${ev?.lower.toFixed(4)}, ${ev?.upper.toFixed(4)}], anytime-valid p = ${ev?.pValue.toPrecision(3)} ≤ α = ${ev?.alpha}`
    : `the stream learner's claim does not hold: ${problem}`;
  const evidence = ev ? { rows: Number(ev.rows), learnerLogLoss: ev.learnerLogLoss, championLogLoss: ev.championLogLoss, improvement: ev.improvement, lower: ev.lower, upper: ev.upper, pValue: ev.pValue, alpha: ev.alpha, updates: Number(ev.updates), firstSegment: Number(ev.firstSegment), lastSegment: Number(ev.lastSegment), learnerAccuracy: ev.learnerAccuracy, championAccuracy: ev.championAccuracy } : null;
  const metrics: Record<string, number> = ev ? { log_loss: ev.learnerLogLoss, accuracy: ev.learnerAccuracy } : {};
  const model = await insertModel(tx, {
    pipeline: ctx.pipeline,
    runId: ctx.runId,
    lineage: toJson(LineageSchema, e.lineage ?? create(LineageSchema)),
    verdict,
    reasons: [why],
    metrics,
    triggerKind: ctx.triggerKind || 'continuous',
    triggerReason: ctx.triggerReason,
    promotedBy: passed ? `stream learner of run ${ctx.runId}` : '',
  });
  await appendLedger(tx, rt.ledgerKey, {
    pipeline: ctx.pipeline,
    kind: 'gate-verdict',
    runId: ctx.runId,
    actor: 'trainer:stream-learner',
    summary: `run ${ctx.runId}: ${why}`,
    details: { verdict, reasons: [why], evidence, championVersion: e.championVersion, test: 'prequential, anytime-valid (normal-mixture confidence sequence of per-row log-loss differences)' },
  });
  await appendLedger(tx, rt.ledgerKey, {
    pipeline: ctx.pipeline,
    kind: 'model-registered',
    runId: ctx.runId,
    actor: 'registry',
    summary: `run ${ctx.runId} registered as ${model.version} (stream learner, ${ev?.updates ?? 0n} updates over segments ${ev?.firstSegment ?? 0n}–${ev?.lastSegment ?? 0n})${passed ? '' : ', not promoted'}`,
    details: { version: model.version, model: e.lineage?.model?.sha256 ?? '', startedFrom: e.lineage?.streamStartedFrom ?? '', segments: [Number(e.lineage?.streamFirstSegment ?? 0n), Number(e.lineage?.streamLastSegment ?? 0n)], codeVersion: e.lineage?.codeVersion ?? '' },
  });
  const previous = passed ? await rollOutOrPromote(rt, tx, ctx, model.version, `stream learner of run ${ctx.runId}`, `the stream learner beat champion ${e.championVersion} (p = ${ev?.pValue.toPrecision(3)})`, traceId) : undefined;
  await rt.publish(
    tx,
    EVENTS.modelRegistered,
    { context: ctx, version: model.version, promoted: passed, previousChampion: previous ?? '', verdict: passed ? Verdict.PASS : Verdict.FAIL, timing: stageTiming('registry', started) },
    { runId: ctx.runId, traceId },
  );
}

import { create, toJson } from '@bufbuild/protobuf';
import { LineageSchema, Verdict, type ModelEvaluated, type RunContext, type RunRequested } from '@refit/contracts';
import { EVENTS, stageTiming, type Identity, type ServiceRuntime } from '@refit/platform';
import type pg from 'pg';
import { appendLedger, type LedgerKind } from './ledger.js';
import type { LedgerKey } from './ledger-key.js';
import { getAlias, getModel, insertModel, modelOfRun, moveAlias } from './store.js';

/** The aliases a model version can carry. */
export const ALIASES = ['champion', 'candidate', 'shadow', 'canary', 'previous'] as const;

/** What recording decisions uses: the outbox, and the ledger key (undefined: entries are only chained). */
export type LedgerWriter = Pick<ServiceRuntime, 'publish'> & {
  readonly ledgerKey: LedgerKey | undefined;
  /** Told of each alias move recorded (metrics); called within the transaction. Default: none. */
  readonly aliasMoved?: (m: AliasMove) => void;
};

/** One alias move: where to, who decided, why, and under which ledger kind it is recorded. */
export type AliasMove = {
  pipeline: string;
  alias: string;
  version: string;
  /** The revision the mover saw; undefined: the alias must not exist yet. */
  expectedRevision: string | undefined;
  previousVersion: string | undefined;
  runId: string;
  actor: string;
  reason: string;
  kind: LedgerKind;
};

/**
 * Moves an alias with optimistic concurrency (ConflictError when someone moved it first), records
 * the move in the ledger and emits `alias.changed`, all in the caller's transaction.
 */
export async function moveAliasRecorded(rt: LedgerWriter, tx: pg.PoolClient, m: AliasMove, traceId?: string): Promise<void> {
  await moveAlias(tx, m);
  const from = m.previousVersion ? ` (was ${m.previousVersion})` : '';
  await appendLedger(tx, rt.ledgerKey, {
    pipeline: m.pipeline,
    kind: m.kind,
    runId: m.runId,
    actor: m.actor,
    summary: `${m.alias} → ${m.version}${from}: ${m.reason}`,
    details: { alias: m.alias, version: m.version, previousVersion: m.previousVersion ?? null },
  });
  await rt.publish(tx, EVENTS.aliasChanged, { pipeline: m.pipeline, alias: m.alias, version: m.version, previousVersion: m.previousVersion ?? '', runId: m.runId }, { runId: m.runId || undefined, traceId });
  rt.aliasMoved?.(m);
}

/**
 * Makes `version` the champion (the old champion becomes `previous`). Both moves are checked
 * against the revisions read here: of two racing promotions, the second one's update finds the
 * revision moved and fails with ConflictError, so exactly one wins.
 */
export async function promote(
  rt: LedgerWriter,
  tx: pg.PoolClient,
  p: { pipeline: string; version: string; runId: string; actor: string; reason: string; kind: LedgerKind; expectedRevision?: string },
  traceId?: string,
): Promise<string | undefined> {
  const champion = await getAlias(tx, p.pipeline, 'champion');
  const expected = p.expectedRevision ?? champion?.revision;
  const previous = champion?.version;
  await moveAliasRecorded(rt, tx, { pipeline: p.pipeline, alias: 'champion', version: p.version, expectedRevision: expected, previousVersion: previous, runId: p.runId, actor: p.actor, reason: p.reason, kind: p.kind }, traceId);
  if (previous && previous !== p.version) {
    const prevAlias = await getAlias(tx, p.pipeline, 'previous');
    await moveAliasRecorded(
      rt,
      tx,
      { pipeline: p.pipeline, alias: 'previous', version: previous, expectedRevision: prevAlias?.revision, previousVersion: prevAlias?.version, runId: p.runId, actor: p.actor, reason: `replaced as champion by ${p.version}`, kind: 'alias-moved' },
      traceId,
    );
  }
  return previous;
}

/**
 * True when a champion move is the evidence-based end of a rollout, recorded as a `promotion` of
 * the run: the deployer itself (not a person through it) moves the champion to the candidate that
 * run produced. Anything else — an admin's SetAlias with any run id, the deployer acting for a
 * person — is a manual override, whatever run id the request names.
 */
export async function concludesRollout(tx: pg.PoolClient, caller: Identity, m: { pipeline: string; version: string; runId: string }): Promise<boolean> {
  if (!m.runId) return false;
  // With authentication off nobody can be told apart: the run id is taken as given (development).
  const deployerItself = caller.kind === 'anonymous' || (caller.kind === 'service' && caller.name === 'deployer' && !caller.onBehalfOf);
  if (!deployerItself) return false;
  const [model, candidate] = await Promise.all([getModel(tx, m.pipeline, m.version), getAlias(tx, m.pipeline, 'candidate')]);
  return model?.run_id === m.runId && candidate?.version === m.version;
}

/**
 * The run's `rollout:` section when it asks for a progressive rollout (shadow, canary, ab);
 * undefined for direct promotion (also when the spec has no such section).
 */
export function rolloutOf(specJson: string): { strategy: string } | undefined {
  if (!specJson) return undefined;
  const rollout = (JSON.parse(specJson) as { rollout?: { strategy?: string } }).rollout;
  return rollout?.strategy && rollout.strategy !== 'direct' ? { ...rollout, strategy: rollout.strategy } : undefined;
}

/** Records a requested run (its trigger and why) in the pipeline's ledger. */
export async function recordRunRequested(tx: pg.PoolClient, e: RunRequested, key: LedgerKey | undefined): Promise<void> {
  const ctx = e.context;
  if (!ctx) return;
  const reason = ctx.triggerReason ? `: ${ctx.triggerReason}` : '';
  await appendLedger(tx, key, {
    pipeline: ctx.pipeline,
    kind: 'run-requested',
    runId: ctx.runId,
    actor: `trigger:${ctx.triggerKind || 'manual'}`,
    summary: `run ${ctx.runId} requested by the ${ctx.triggerKind || 'manual'} trigger${reason}`,
    details: { triggerKind: ctx.triggerKind, triggerReason: ctx.triggerReason, specVersion: ctx.specVersion, requestedAt: e.requestedAt ? new Date(Number(e.requestedAt.seconds) * 1000).toISOString() : null },
  });
}

/**
 * Registers an evaluated candidate as an immutable model version, records the gate verdict and
 * the registration in the ledger and, only when its evaluation passed, makes it the champion.
 */
export async function registerEvaluated(rt: LedgerWriter, tx: pg.PoolClient, e: ModelEvaluated, traceId?: string): Promise<void> {
  const started = Date.now();
  const ctx = e.context;
  if (!ctx) return;
  if (await modelOfRun(tx, ctx.runId)) return;
  const passed = e.verdict === Verdict.PASS;
  const verdict = Verdict[e.verdict].toLowerCase();
  const model = await insertModel(tx, {
    pipeline: ctx.pipeline,
    runId: ctx.runId,
    lineage: toJson(LineageSchema, e.lineage ?? create(LineageSchema)),
    verdict,
    reasons: e.reasons,
    metrics: e.candidateMetrics,
    triggerKind: ctx.triggerKind,
    triggerReason: ctx.triggerReason,
    promotedBy: passed ? `evaluation gates of run ${ctx.runId}` : '',
  });
  const report = e.lineage?.evaluationReport;
  await appendLedger(tx, rt.ledgerKey, {
    pipeline: ctx.pipeline,
    kind: 'gate-verdict',
    runId: ctx.runId,
    actor: 'evaluator',
    summary: `run ${ctx.runId}: the gates say ${verdict}${e.championVersion ? ` against champion ${e.championVersion}` : ' (no champion yet)'}`,
    details: { verdict, reasons: e.reasons, candidateMetrics: e.candidateMetrics, championMetrics: e.championMetrics, championVersion: e.championVersion, report: report ? { key: report.key, sha256: report.sha256 } : null },
  });
  await appendLedger(tx, rt.ledgerKey, {
    pipeline: ctx.pipeline,
    kind: 'model-registered',
    runId: ctx.runId,
    actor: 'registry',
    summary: `run ${ctx.runId} registered as ${model.version}${passed ? '' : `, not promoted (verdict ${verdict})`}`,
    details: { version: model.version, snapshotSha256: e.lineage?.snapshotSha256 ?? '', model: e.lineage?.model?.sha256 ?? '', codeVersion: e.lineage?.codeVersion ?? '' },
  });
  const previous = passed ? await rollOutOrPromote(rt, tx, ctx, model.version, `evaluation gates of run ${ctx.runId}`, `run ${ctx.runId} passed its evaluation gates`, traceId) : undefined;
  await rt.publish(
    tx,
    EVENTS.modelRegistered,
    { context: ctx, version: model.version, promoted: passed, previousChampion: previous ?? '', verdict: e.verdict, timing: stageTiming('registry', started) },
    { runId: ctx.runId, traceId },
  );
}

/**
 * What a version that passed does next: with a progressive rollout in its spec, it becomes the
 * candidate and `rollout.requested` asks the deployer to decide on live traffic; otherwise it is
 * promoted at once. Returns the champion it is rolled out next to, or replaced.
 */
export async function rollOutOrPromote(rt: LedgerWriter, tx: pg.PoolClient, ctx: RunContext, version: string, actor: string, passedBecause: string, traceId?: string): Promise<string | undefined> {
  const rollout = rolloutOf(ctx.specJson);
  if (!rollout) return promote(rt, tx, { pipeline: ctx.pipeline, version, runId: ctx.runId, actor, reason: passedBecause, kind: 'promotion' }, traceId);
  // A progressive rollout: the candidate alias moves and the deployer decides on live traffic.
  const current = await getAlias(tx, ctx.pipeline, 'candidate');
  const champion = await getAlias(tx, ctx.pipeline, 'champion');
  const reason = `${passedBecause}; ${rollout.strategy} rollout next to ${champion ? `champion ${champion.version}` : 'no champion'}`;
  await moveAliasRecorded(rt, tx, { pipeline: ctx.pipeline, alias: 'candidate', version, expectedRevision: current?.revision, previousVersion: current?.version, runId: ctx.runId, actor, reason, kind: 'alias-moved' }, traceId);
  await rt.publish(tx, EVENTS.rolloutRequested, { pipeline: ctx.pipeline, version, runId: ctx.runId, championVersion: champion?.version ?? '', rolloutJson: JSON.stringify(rollout) }, { runId: ctx.runId, traceId });
  return champion?.version;
}

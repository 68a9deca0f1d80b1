import { fromJson, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { LineageSchema, Verdict, type ModelVersionSchema, type RegistryService } from '@refit/contracts';
import { actorOf, ConflictError, InvalidInputError, NotFoundError, withTransaction, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { appendLedger, readLedger, type LedgerEntry } from './ledger.js';
import { verifyAnchoredLedger } from './ledger-verify.js';
import { ALIASES, concludesRollout, moveAliasRecorded, promote, type LedgerWriter } from './promotion.js';
import { aliasesOf, getAlias, getModel, listModels, type AliasRow, type ModelRow } from './store.js';

const VERDICTS: Record<string, Verdict> = { pass: Verdict.PASS, fail: Verdict.FAIL, inconclusive: Verdict.INCONCLUSIVE };

function toModelVersion(m: ModelRow, aliases: AliasRow[]): MessageInitShape<typeof ModelVersionSchema> {
  return {
    pipeline: m.pipeline,
    version: m.version,
    runId: m.run_id,
    createdAt: timestampFromDate(m.created_at),
    lineage: fromJson(LineageSchema, m.lineage as JsonValue),
    verdict: VERDICTS[m.verdict] ?? Verdict.UNSPECIFIED,
    reasons: m.reasons,
    metrics: m.metrics,
    aliases: aliases.filter((a) => a.version === m.version).map((a) => a.alias),
    triggerKind: m.trigger_kind,
    triggerReason: m.trigger_reason,
    promotedBy: m.promoted_by,
  };
}

function required(value: string, name: string): string {
  if (!value) throw new InvalidInputError(`${name} is required`);
  return value;
}

const toWireEntry = (e: LedgerEntry) => ({
  pipeline: e.pipeline,
  seq: BigInt(e.seq),
  kind: e.kind,
  runId: e.runId,
  actor: e.actor,
  summary: e.summary,
  detailsJson: JSON.stringify(e.details),
  recordedAt: e.recordedAt,
  prevHash: e.prevHash,
  hash: e.hash,
});

/** What the registry's handlers use: the runtime's plumbing and the ledger key (undefined: the ledger is only chained). */
export type RegistryDeps = LedgerWriter & Pick<ServiceRuntime, 'pool' | 'relay' | 'store' | 'logger'>;

/** gRPC handlers of the registry service. */
export function createRegistryHandlers(rt: RegistryDeps): ServiceHandlers<typeof RegistryService> {
  return {
    async getModel(req) {
      const m = await getModel(rt.pool, required(req.pipeline, 'pipeline'), required(req.version, 'version'));
      if (!m) throw new NotFoundError(`model version '${req.version}' of pipeline '${req.pipeline}' not found`);
      return { model: toModelVersion(m, await aliasesOf(rt.pool, req.pipeline)) };
    },
    async listModels(req) {
      const aliases = await aliasesOf(rt.pool, required(req.pipeline, 'pipeline'));
      return { models: (await listModels(rt.pool, req.pipeline)).map((m) => toModelVersion(m, aliases)) };
    },
    async getAlias(req) {
      const a = await getAlias(rt.pool, required(req.pipeline, 'pipeline'), required(req.alias, 'alias'));
      if (!a) throw new NotFoundError(`pipeline '${req.pipeline}' has no '${req.alias}' model`);
      const m = await getModel(rt.pool, req.pipeline, a.version);
      if (!m) throw new NotFoundError(`alias '${req.alias}' points at missing version '${a.version}'`);
      return { model: toModelVersion(m, await aliasesOf(rt.pool, req.pipeline)) };
    },
    async setAlias(req, ctx) {
      const pipeline = required(req.pipeline, 'pipeline');
      const alias = required(req.alias, 'alias');
      if (!(ALIASES as readonly string[]).includes(alias)) throw new InvalidInputError(`alias '${alias}' is not one of ${ALIASES.join(', ')}`);
      const version = required(req.version, 'version');
      // The actor is who authenticated, never the request's `actor` field (kept on the wire, ignored).
      const actor = actorOf(ctx.identity);
      const reason = required(req.reason, 'reason');
      const out = await withTransaction(rt.pool, async (tx) => {
        const target = await getModel(tx, pipeline, version);
        if (!target) throw new NotFoundError(`model version '${version}' of pipeline '${pipeline}' not found`);
        const current = await getAlias(tx, pipeline, alias);
        const seen = current ? BigInt(current.revision) : 0n;
        if (req.expectedRevision !== undefined && req.expectedRevision !== seen) {
          throw new ConflictError(`alias '${alias}' of pipeline '${pipeline}' is at revision ${seen}, not ${req.expectedRevision}: it was moved meanwhile; look again and retry`);
        }
        const evidence = alias === 'champion' && (await concludesRollout(tx, ctx.identity, { pipeline, version, runId: req.runId }));
        const why = evidence ? `${actor}: ${reason}` : `manual override by ${actor}: ${reason}`;
        // A move names a run only when that run made the version (a rollout promoted by hand still ends its run).
        const runId = req.runId && req.runId === target.run_id ? req.runId : '';
        if (alias === 'champion') {
          await promote(rt, tx, { pipeline, version, runId, actor, reason: why, kind: evidence ? 'promotion' : 'manual-override', expectedRevision: current?.revision });
        } else {
          await moveAliasRecorded(rt, tx, { pipeline, alias, version, expectedRevision: current?.revision, previousVersion: current?.version, runId, actor, reason: why, kind: 'manual-override' });
        }
        const m = await getModel(tx, pipeline, version);
        if (!m) throw new NotFoundError(`model version '${version}' of pipeline '${pipeline}' not found`);
        return { model: toModelVersion(m, await aliasesOf(tx, pipeline)), revision: seen + 1n };
      });
      rt.relay.kick();
      return out;
    },
    async listLedger(req) {
      return { entries: (await readLedger(rt.pool, required(req.pipeline, 'pipeline'), req.runId || undefined)).map(toWireEntry) };
    },
    async recordDecision(req, ctx) {
      const pipeline = required(req.pipeline, 'pipeline');
      if (req.kind !== 'rollback') throw new InvalidInputError(`kind '${req.kind}' cannot be recorded from outside; only rollback`);
      let details: unknown = {};
      try {
        details = req.detailsJson ? JSON.parse(req.detailsJson) : {};
      } catch {
        throw new InvalidInputError('details_json is not valid JSON');
      }
      const entry = await withTransaction(rt.pool, (tx) =>
        appendLedger(tx, rt.ledgerKey, { pipeline, kind: 'rollback', runId: req.runId, actor: actorOf(ctx.identity), summary: required(req.summary, 'summary'), details }),
      );
      return { entry: toWireEntry(entry) };
    },
    async verifyLedger(req) {
      const v = await verifyAnchoredLedger(rt, required(req.pipeline, 'pipeline'));
      return {
        ok: v.ok,
        entries: BigInt(v.entries),
        firstBadSeq: BigInt(v.firstBadSeq),
        problem: v.problem,
        headHash: v.headHash,
        anchored: v.anchored,
        unanchoredEntries: BigInt(v.unanchored),
        checkpointSeq: BigInt(v.checkpoint?.seq ?? 0),
        checkpointRecordedAt: v.checkpoint?.recordedAt ?? '',
        missingFrom: BigInt(v.missingFrom),
        missingTo: BigInt(v.missingTo),
        note: v.notes.join('; '),
      };
    },
  };
}

import { fromJson, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { LineageSchema, Verdict, type ModelVersionSchema, type RegistryService } from '@refit/contracts';
import { InvalidInputError, NotFoundError, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
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

/** gRPC handlers of the registry service. */
export function createRegistryHandlers(rt: ServiceRuntime): ServiceHandlers<typeof RegistryService> {
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
  };
}

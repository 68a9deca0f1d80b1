import { toJson } from '@bufbuild/protobuf';
import { evaluationDetailsOf, EvaluationDetailsSchema, GetModelResponseSchema, LedgerEntrySchema, ModelVersionSchema, SetAliasResponseSchema, Verdict, VerifyLedgerResponseSchema } from '@refit/contracts';
import { InvalidInputError } from '@refit/platform/client';
import { formatBacktest } from './backtest-format.js';
import type { Clients } from './clients.js';
import { formatConsistency } from './consistency-format.js';
import type { Io } from './commands.js';
import { formatLedger, formatLineage, formatModel, formatReport, formatVerify } from './registry-format.js';

const JSON_OPTS = { alwaysEmitImplicit: true } as const;
const print = (io: Io, human: string, json: unknown) => io.out(io.json ? JSON.stringify(json, null, 2) : human);

/** `refit eval show <run>`: the stored evaluation report. */
export async function evalShow(c: Clients, io: Io, runId: string): Promise<void> {
  const { report } = await c.evaluator.getReport({ runId });
  if (!report) throw new InvalidInputError(`the evaluator returned no report for run ${runId}`);
  const details = evaluationDetailsOf(report);
  // --json prints the stored document while the evaluator still serves it (report_json, one more
  // release), else the same fields from the typed details.
  const json: unknown = report.reportJson
    ? JSON.parse(report.reportJson)
    : { runId: report.runId, pipeline: report.pipeline, verdict: Verdict[report.verdict].toLowerCase(), rowsTest: Number(report.rowsTest), ...(toJson(EvaluationDetailsSchema, details) as object) };
  print(io, [formatReport(report), ...formatConsistency(details.consistency), ...formatBacktest(details.backtest)].join('\n'), json);
}

/** `refit models show <pipeline> <version>` */
export async function modelsShow(c: Clients, io: Io, pipeline: string, version: string): Promise<void> {
  const r = await c.registry.getModel({ pipeline, version });
  if (!r.model) throw new InvalidInputError(`no model ${pipeline} ${version}`);
  print(io, formatModel(r.model), toJson(GetModelResponseSchema, r, JSON_OPTS));
}

/** `refit lineage <pipeline> <version>`: what the version came from, and the decisions about it. */
export async function lineage(c: Clients, io: Io, pipeline: string, version: string): Promise<void> {
  const { model } = await c.registry.getModel({ pipeline, version });
  if (!model) throw new InvalidInputError(`no model ${pipeline} ${version}`);
  const own = (await c.registry.listLedger({ pipeline, runId: model.runId })).entries;
  // Later moves of an alias onto this version (manual overrides, rollbacks) belong to it too.
  const moves = (await c.registry.listLedger({ pipeline })).entries.filter((e) => e.runId !== model.runId && (JSON.parse(e.detailsJson) as { version?: string }).version === version);
  const entries = [...own, ...moves].sort((a, b) => Number(a.seq - b.seq));
  // The validation of the snapshot's batches is the ingestion service's; without it the lineage still prints.
  const ids = new Set(model.lineage?.batchIds ?? []);
  const batches = await c.ingestion.listBatches({ pipeline }).then(
    (r) => r.batches.filter((b) => ids.has(b.batchId)),
    () => undefined,
  );
  // The trigger service keeps the decision (with its evidence) that started the run.
  const run = await c.trigger.getRun({ runId: model.runId }).then(
    (r) => r.run as { decisionId?: string } | undefined,
    () => undefined,
  );
  const decisionId = run?.decisionId ?? '';
  const validation = batches?.map((b) => ({ batchId: b.batchId, sha256: b.sha256, status: b.status, rowsAccepted: Number(b.rowsAccepted), rowsQuarantined: Number(b.rowsQuarantined), problems: b.problems }));
  print(io, formatLineage(model, entries, validation, decisionId), {
    model: toJson(ModelVersionSchema, model, JSON_OPTS),
    decisionId,
    validation: validation ?? null,
    decisions: entries.map((e) => toJson(LedgerEntrySchema, e, JSON_OPTS)),
  });
}

/** `refit ledger <pipeline>` */
export async function ledgerShow(c: Clients, io: Io, pipeline: string, runId?: string): Promise<void> {
  const { entries } = await c.registry.listLedger({ pipeline, runId: runId ?? '' });
  print(io, formatLedger(entries), { entries: entries.map((e) => ({ ...(toJson(LedgerEntrySchema, e, JSON_OPTS) as Record<string, unknown>), details: JSON.parse(e.detailsJson) as unknown })) });
}

/** `refit ledger verify <pipeline>`: exits 1 when the chain is broken, a MAC does not match or entries are missing. */
export async function ledgerVerify(c: Clients, io: Io, pipeline: string): Promise<void> {
  const v = await c.registry.verifyLedger({ pipeline });
  print(io, formatVerify(pipeline, v), toJson(VerifyLedgerResponseSchema, v, JSON_OPTS));
  if (!v.ok) process.exitCode = 1;
}

/**
 * `refit alias set <pipeline> <alias> <version> --reason …`: a manual override, recorded under the
 * identity of the credential the CLI presents (needs the admin role).
 */
export async function aliasSet(c: Clients, io: Io, pipeline: string, alias: string, version: string, o: { reason: string; expectRevision?: string }): Promise<void> {
  const expectedRevision = o.expectRevision === undefined ? undefined : BigInt(o.expectRevision);
  const r = await c.registry.setAlias({ pipeline, alias, version, reason: o.reason, expectedRevision });
  print(io, `${pipeline} ${alias} → ${version} (revision ${r.revision}), recorded in the ledger`, toJson(SetAliasResponseSchema, r, JSON_OPTS));
}

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { toJson, type JsonObject } from '@bufbuild/protobuf';
import {
  ListModelsResponseSchema,
  PredictResponseSchema,
  PushDataResponseSchema,
  RunSchema,
  RunStatus,
  type Run,
} from '@refit/contracts';
import { InvalidInputError, UnavailableError } from '@refit/platform';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { PushDataRequestSchema } from '@refit/contracts';
import type { Clients } from './clients.js';
import { formatModels, formatRun, statusWord } from './format.js';

/** JSON output lists every field, zeros and empty values too, so scripts need no defaults. */
const JSON_OPTS = { alwaysEmitImplicit: true } as const;

/** Where command output goes; tests pass their own. */
export type Io = { out: (s: string) => void; err: (s: string) => void; json: boolean; progress: boolean };

const print = (io: Io, human: string, json: unknown) => io.out(io.json ? JSON.stringify(json, null, 2) : human);

/** `refit pipeline apply -f spec.yaml` */
export async function pipelineApply(c: Clients, io: Io, file: string): Promise<void> {
  const specYaml = await readFile(file, 'utf8');
  const r = await c.trigger.applyPipeline({ specYaml });
  const p = r.pipeline;
  print(io, `pipeline ${p?.name} v${p?.version} ${r.changed ? 'applied' : 'unchanged'}`, { name: p?.name, version: p?.version, changed: r.changed });
}

/** `refit pipeline list` */
export async function pipelineList(c: Clients, io: Io): Promise<void> {
  const r = await c.trigger.listPipelines({});
  print(io, r.pipelines.map((p) => `${p.name} v${p.version}`).join('\n') || 'no pipelines', r.pipelines.map((p) => ({ name: p.name, version: p.version })));
}

/** `refit data push <pipeline> <file>`: streams the file in 64 KiB chunks. */
export async function dataPush(c: Clients, io: Io, pipeline: string, file: string): Promise<void> {
  let sent = 0;
  let lastReport = 0;
  async function* parts(): AsyncIterable<MessageInitShape<typeof PushDataRequestSchema>> {
    yield { part: { case: 'header', value: { pipeline, format: 'csv', filename: basename(file) } } } as MessageInitShape<typeof PushDataRequestSchema>;
    for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) {
      sent += (chunk as Buffer).length;
      if (io.progress && Date.now() - lastReport > 500) {
        lastReport = Date.now();
        io.err(`  sent ${(sent / 1e6).toFixed(1)} MB…`);
      }
      yield { part: { case: 'chunk', value: chunk as Buffer } } as MessageInitShape<typeof PushDataRequestSchema>;
    }
  }
  const r = await c.ingestion.pushData(parts(), { timeoutMs: 3_600_000 });
  const lines = [`batch ${r.batchId}: ${r.rowsAccepted} rows accepted, ${r.rowsQuarantined} quarantined (of ${r.rowsTotal})`];
  for (const p of r.problems) lines.push(`  line ${p.line}: ${p.message}`);
  if (r.rowsQuarantined > BigInt(r.problems.length)) lines.push(`  … see all with: refit data quarantine ${pipeline}`);
  print(io, lines.join('\n'), toJson(PushDataResponseSchema, r, JSON_OPTS));
}

/** `refit data quarantine <pipeline>` */
export async function dataQuarantine(c: Clients, io: Io, pipeline: string, batchId?: string): Promise<void> {
  const r = await c.ingestion.listQuarantine({ pipeline, batchId: batchId ?? '', limit: 1000 });
  print(
    io,
    r.rows.map((q) => `${q.batchId} line ${q.problem?.line}: ${q.problem?.message}`).join('\n') || 'no quarantined rows',
    r.rows.map((q) => ({ batchId: q.batchId, line: Number(q.problem?.line), column: q.problem?.column, message: q.problem?.message, raw: q.raw })),
  );
}

/** `refit trigger <pipeline>` */
export async function trigger(c: Clients, io: Io, pipeline: string, reason?: string): Promise<string> {
  const r = await c.trigger.triggerRun({ pipeline, reason: reason ?? '' });
  print(io, `run ${r.run?.runId} started for ${pipeline}`, { runId: r.run?.runId, pipeline });
  return r.run?.runId ?? '';
}

/** `refit runs list` */
export async function runsList(c: Clients, io: Io, pipeline?: string): Promise<void> {
  const r = await c.trigger.listRuns({ pipeline: pipeline ?? '', limit: 50 });
  print(
    io,
    r.runs.map((run) => `${run.runId}  ${run.pipeline.padEnd(16)} ${statusWord(run.status).padEnd(9)} ${run.outcome.padEnd(8)} ${run.modelVersion}`).join('\n') || 'no runs',
    r.runs.map((run) => toJson(RunSchema, run, JSON_OPTS)),
  );
}

/** `refit runs show <run>` */
export async function runsShow(c: Clients, io: Io, runId: string): Promise<Run> {
  const { run } = await c.trigger.getRun({ runId });
  if (!run) throw new InvalidInputError(`run '${runId}' came back empty`);
  print(io, formatRun(run), toJson(RunSchema, run, JSON_OPTS));
  return run;
}

/** Polls a run until it ends, reporting each finished stage as it comes. */
export async function waitForRun(c: Clients, runId: string, opts: { timeoutMs: number; onStage?: (line: string) => void; pollMs?: number }): Promise<Run> {
  const deadline = Date.now() + opts.timeoutMs;
  let reported = 0;
  for (;;) {
    const { run } = await c.trigger.getRun({ runId });
    if (!run) throw new InvalidInputError(`run '${runId}' came back empty`);
    for (const s of run.stages.slice(reported)) opts.onStage?.(`  ${s.status === 'failed' ? '✗' : '✓'} ${s.stage.padEnd(10)} ${String(s.computeMs).padStart(6)} ms  ${s.detail}`);
    reported = run.stages.length;
    if (run.status !== RunStatus.RUNNING) return run;
    if (Date.now() > deadline) throw new UnavailableError(`run ${runId} still running after ${Math.round(opts.timeoutMs / 1000)} s; it goes on — check it with 'refit runs show ${runId}'`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/** `refit runs wait <run>`: shows progress, prints the summary, fails when the run failed. */
export async function runsWait(c: Clients, io: Io, runId: string, timeoutMs: number): Promise<Run> {
  if (io.progress) io.err(`waiting for run ${runId}…`);
  const run = await waitForRun(c, runId, { timeoutMs, onStage: io.progress ? io.err : undefined });
  print(io, formatRun(run), toJson(RunSchema, run, JSON_OPTS));
  if (run.status === RunStatus.FAILED) process.exitCode = 1;
  return run;
}

/** `refit models list <pipeline>` */
export async function modelsList(c: Clients, io: Io, pipeline: string): Promise<void> {
  const r = await c.registry.listModels({ pipeline });
  print(io, formatModels(r.models), toJson(ListModelsResponseSchema, r, JSON_OPTS));
}

/** Reads rows (one JSON object per line) from a file. */
export async function readJsonl(file: string): Promise<JsonObject[]> {
  const rows: JsonObject[] = [];
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file) })) {
    line++;
    if (!text.trim()) continue;
    try {
      const v = JSON.parse(text) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
      rows.push(v as JsonObject);
    } catch (e) {
      throw new InvalidInputError(`${file} line ${line}: ${(e as Error).message}`);
    }
  }
  return rows;
}

/** `refit predict <pipeline> --input rows.jsonl` */
export async function predict(c: Clients, io: Io, pipeline: string, input: string): Promise<void> {
  const rows = await readJsonl(input);
  const r = await c.deployer.predict({ pipeline, rows });
  print(
    io,
    [`model ${r.modelVersion}`, ...r.predictions.map((p, i) => `  row ${i + 1}: p=${p.probability.toFixed(4)} label=${p.label}  (${p.predictionId})`)].join('\n'),
    toJson(PredictResponseSchema, r, JSON_OPTS),
  );
}

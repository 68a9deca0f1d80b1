import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { toJson, type JsonObject } from '@bufbuild/protobuf';
import {
  ListModelsResponseSchema,
  PredictResponseSchema,
  RunSchema,
  RunStatus,
  TrialSchema,
  type Run,
  type Trial,
} from '@refit/contracts';
import { InvalidInputError, UnavailableError } from '@refit/platform/client';
import type { Clients } from './clients.js';
import { formatModels, formatRun, statusWord } from './format.js';
import { createStatusLine, formatProgress, formatTrials } from './trials-format.js';

/** JSON output lists every field, zeros and empty values too, so scripts need no defaults. */
const JSON_OPTS = { alwaysEmitImplicit: true } as const;

/**
 * Where command output goes; tests pass their own. `progress` shows progress on stderr; `tty` says
 * stderr is a terminal (progress redrawn in place through `write`, which adds no newline). Defaults:
 * `tty` false, `write` none (progress then goes through `err` as plain lines).
 */
export type Io = { out: (s: string) => void; err: (s: string) => void; json: boolean; progress: boolean; tty?: boolean; write?: (s: string) => void };

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

/** `refit trigger <pipeline>` */
export async function trigger(c: Clients, io: Io, pipeline: string, reason?: string): Promise<string> {
  const r = await c.trigger.triggerRun({ pipeline, reason: reason ?? '' });
  const runId = r.run?.runId ?? '';
  const human: Record<string, string> = {
    start: `run ${runId} started for ${pipeline}`,
    coalesce: `run ${runId} is already in flight for ${pipeline}; this request joins it`,
    queue: `a run is queued for ${pipeline} after run ${runId}`,
    suppress: `no run started for ${pipeline}: ${r.message}`,
  };
  print(io, human[r.action] ?? r.message, { runId, pipeline, action: r.action, decisionId: r.decisionId, message: r.message });
  if (r.action === 'suppress') process.exitCode = 3;
  return runId;
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

/** The run's search trials, or none when there was no search or the trainer cannot be reached. */
async function trialsOf(c: Clients, runId: string): Promise<Trial[]> {
  try {
    return (await c.trainer.listTrials({ runId }, { timeoutMs: 5000 })).trials;
  } catch {
    // The run summary comes from the trigger; trials are extra detail and must not fail `runs show`.
    return [];
  }
}

/** `refit runs show <run>`: the run, and the trials of its hyper-parameter search if it had one. */
export async function runsShow(c: Clients, io: Io, runId: string): Promise<Run> {
  const { run } = await c.trigger.getRun({ runId });
  if (!run) throw new InvalidInputError(`run '${runId}' came back empty`);
  const trials = await trialsOf(c, runId);
  const json = toJson(RunSchema, run, JSON_OPTS) as JsonObject;
  print(
    io,
    [formatRun(run), formatTrials(trials)].filter(Boolean).join('\n'),
    trials.length > 0 ? { ...json, trials: trials.map((t) => toJson(TrialSchema, t, JSON_OPTS)) } : json,
  );
  return run;
}

/** Reports training progress lines while a run trains: on each change, at most once per `everyMs`. */
function trainingProgress(c: Clients, runId: string, onProgress: (line: string) => void, everyMs: number): (run: Run) => Promise<void> {
  let last = '';
  let lastAt = 0;
  return async (run) => {
    // Only between features and the trainer's stage record: before, nothing trains; after, it is done.
    const stages = new Set(run.stages.map((s) => s.stage));
    if (!stages.has('feature') || stages.has('trainer') || Date.now() - lastAt < everyMs) return;
    const p = (await c.trainer.getProgress({ runId }, { timeoutMs: 2000 }).catch(() => undefined))?.progress;
    if (!p) return;
    const line = formatProgress(p);
    if (line !== last) onProgress(line);
    [last, lastAt] = [line, Date.now()];
  };
}

/**
 * Polls a run until it ends, reporting each finished stage as it comes, and (with `onProgress`)
 * a training progress bar while the trainer works, at most once per `progressEveryMs` (default 1000).
 */
export async function waitForRun(
  c: Clients,
  runId: string,
  opts: { timeoutMs: number; onStage?: (line: string) => void; onProgress?: (line: string) => void; pollMs?: number; progressEveryMs?: number },
): Promise<Run> {
  const deadline = Date.now() + opts.timeoutMs;
  const progress = opts.onProgress ? trainingProgress(c, runId, opts.onProgress, opts.progressEveryMs ?? 1000) : undefined;
  let reported = 0;
  for (;;) {
    const { run } = await c.trigger.getRun({ runId });
    if (!run) throw new InvalidInputError(`run '${runId}' came back empty`);
    for (const s of run.stages.slice(reported)) opts.onStage?.(`  ${s.status === 'failed' ? '✗' : '✓'} ${s.stage.padEnd(10)} ${String(s.computeMs).padStart(6)} ms  ${s.detail}`);
    reported = run.stages.length;
    if (run.status !== RunStatus.RUNNING) return run;
    await progress?.(run);
    if (Date.now() > deadline) throw new UnavailableError(`run ${runId} still running after ${Math.round(opts.timeoutMs / 1000)} s; it goes on — check it with 'refit runs show ${runId}'`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/**
 * `refit runs wait <run>`: shows progress (on a terminal one line with a bar for trials and epochs,
 * redrawn in place; elsewhere plain lines, at most one each 5 s), prints the summary, fails when the
 * run failed.
 */
export async function runsWait(c: Clients, io: Io, runId: string, timeoutMs: number): Promise<Run> {
  // Without a terminal (a pipe, a CI log) progress is plain lines unless --json.
  const show = !io.json && (io.progress || io.tty === false);
  const inPlace = Boolean(io.tty && io.write);
  const status = show ? createStatusLine(inPlace && io.write ? io.write : (s) => io.err(s.replace(/\n$/, '')), inPlace) : undefined;
  status?.print(`waiting for run ${runId}…`);
  let run: Run;
  try {
    run = await waitForRun(c, runId, {
      timeoutMs,
      onStage: status && ((line) => status.print(line)),
      onProgress: status && ((line) => status.update(line)),
      progressEveryMs: inPlace ? 200 : 5000,
    });
  } finally {
    status?.end();
  }
  const trials = await trialsOf(c, runId);
  print(io, [formatRun(run), formatTrials(trials)].filter(Boolean).join('\n'), toJson(RunSchema, run, JSON_OPTS));
  if (run.status === RunStatus.FAILED) process.exitCode = 1;
  return run;
}

/** `refit runs cancel <run> [--reason text]` */
export async function runsCancel(c: Clients, io: Io, runId: string, reason?: string): Promise<void> {
  const { run } = await c.trigger.cancelRun({ runId, reason: reason ?? '' });
  if (!run) throw new InvalidInputError(`run '${runId}' came back empty`);
  print(io, `run ${runId} cancelled (${run.failureReason})`, toJson(RunSchema, run, JSON_OPTS));
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

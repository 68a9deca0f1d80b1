/**
 * The demo's driver: the whole loop on real data, through the CLI's clients and commands, against
 * a stack it starts (`runDemo`, `npm run demo`) or one already running (`demoLoop`, e.g. the
 * compose file started by `npm run compose:check -- --compose`). It lives with the CLI (an
 * application) so that libs/stack, a library, never imports the CLI.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import { RunSchema, RunStatus, type Run } from '@refit/contracts';
import { FailedPreconditionError } from '@refit/platform';
import { DEFAULT_NATS_URL, DEFAULT_PG_URL, REPO_ROOT, resetNamespace, startStack, writeWeatherSlice, type Stack, type StackOptions } from '@refit/stack';
import { connect, type Clients } from './clients.js';
import { pipelineApply, waitForRun, type Io } from './commands.js';
import { formatRun, runDurationMs } from './format.js';

/** The demo's isolated namespace, reset at every start so each demo begins from nothing. */
export const DEMO_ENV: Record<string, string> = {
  REFIT_SCHEMA_PREFIX: 'refit_demo_',
  REFIT_STREAM: 'REFIT_DEMO',
  REFIT_SUBJECT_PREFIX: 'refitdemo',
  REFIT_S3_BUCKET: 'refit-demo',
};

/** One run of the loop. */
export type LoopRun = { label: string; run: Run };

/** The served version and probabilities of the probe rows. */
export type Served = { version: string; probabilities: number[] };

/** What the demo did, for `--json` and for the end-to-end test. */
export type DemoResult = {
  runs: LoopRun[];
  probe: Array<Record<string, string>>;
  predictions: { before: Served; after: Served };
};

/** Options of {@link runDemo}. */
export type DemoOptions = {
  /** Prints progress and summaries (not used with --json). */
  log?: (line: string) => void;
  /** Extra REFIT_* settings (e.g. a test's own namespace); the demo namespace is the default. */
  env?: Record<string, string>;
  /** Called with the running stack between the two runs (tests use it to kill the trainer). */
  duringSecondRun?: (stack: Stack, clients: Clients, runId: string) => Promise<void>;
  /** Keep the namespace's previous state instead of resetting it. Default false. */
  keepState?: boolean;
  /** How the stack runs: its work folder, replicas, how each service starts (e.g. as a container). */
  stack?: Pick<StackOptions, 'workDir' | 'replicas' | 'launch' | 'startTimeoutS'>;
  /** Called once every service serves, before the loop (e.g. to time the start). */
  onStackUp?: (stack: Stack) => Promise<void> | void;
};

/** Options of {@link demoLoop}. */
export type DemoLoopOptions = {
  /** The clients; asked again after `during` (it may have restarted servers whose addresses changed). */
  clients: () => Promise<Clients> | Clients;
  /** The pipeline's name (default weather-rain): a second loop on the same stack takes a name of its own. */
  pipeline?: string;
  log?: (line: string) => void;
  /** Called right after the second run is triggered; the loop waits for the run once it returns. */
  during?: (runId: string) => Promise<void>;
  /** Reports each stage of a run as it ends (the demo prints them). */
  onStage?: (line: string) => void;
  /** Each run's deadline (default 5 minutes). */
  runTimeoutMs?: number;
};

/**
 * The loop against a running stack: apply the weather-rain pipeline, push Seattle 2012–2013, train
 * and deploy the first champion; push New York 2012–2014 (the location shift), retrain, and serve
 * the new champion. The same New York 2015 days (never trained on) are scored before and after.
 */
export async function demoLoop(o: DemoLoopOptions): Promise<DemoResult> {
  const log = o.log ?? (() => undefined);
  const pipeline = o.pipeline ?? 'weather-rain';
  const dir = mkdtempSync(join(tmpdir(), 'refit-demo-'));
  try {
    const spec = join(dir, 'pipeline.yaml');
    writeFileSync(spec, readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8').replace(/^name: weather-rain$/m, `name: ${pipeline}`));
    const seattle = join(dir, 'seattle-2012-2013.csv');
    const newYork = join(dir, 'new-york-2012-2014.csv');
    writeWeatherSlice(seattle, 'Seattle', 2012, 2013);
    writeWeatherSlice(newYork, 'New York', 2012, 2014);
    const probe = writeWeatherSlice(join(dir, 'probe.csv'), 'New York', 2015, 2015).filter((_, i) => i % 73 === 0);
    let c = await o.clients();
    const quiet: Io = { json: true, progress: false, out: () => undefined, err: () => undefined };
    await pipelineApply(c, quiet, spec);
    log(`pipeline ${pipeline} applied from examples/weather-rain.yaml`);
    const runs: LoopRun[] = [];
    const cycle = async (label: string, file: string, reason: string, during?: (runId: string) => Promise<void>) => {
      const push = await c.ingestion.pushData(
        (async function* () {
          yield { part: { case: 'header' as const, value: { pipeline, format: 'csv', filename: file } } };
          for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) yield { part: { case: 'chunk' as const, value: chunk as Buffer } };
        })(),
      );
      log(`\n== ${label}\npushed ${file.split('/').pop()}: ${push.rowsAccepted} rows accepted, ${push.rowsQuarantined} quarantined`);
      const { run } = await c.trigger.triggerRun({ pipeline, reason });
      const runId = run?.runId ?? '';
      log(`run ${runId} triggered (${reason})`);
      if (during) {
        await during(runId);
        c = await o.clients();
      }
      const done = await waitForRun(c, runId, { timeoutMs: o.runTimeoutMs ?? 300_000, onStage: o.onStage });
      log(formatRun(done));
      runs.push({ label, run: done });
      if (done.status !== RunStatus.SUCCEEDED) throw new Error(`run ${runId} ${RunStatus[done.status].toLowerCase()}: ${done.failedStage} — ${done.failureReason}`);
    };
    await cycle('first model: Seattle 2012–2013', seattle, 'first model for the pipeline');
    const before = await served(c, pipeline, probe);
    await cycle('location shift: New York 2012–2014', newYork, 'data moved to New York', o.during);
    const after = await served(c, pipeline, probe);
    return { runs, probe, predictions: { before, after } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The whole loop on real data: start the stack, then {@link demoLoop}, and show the new model
 * evaluated against the champion, promoted and serving.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const log = opts.log ?? (() => undefined);
  const env = { ...DEMO_ENV, ...opts.env };
  log('checking Postgres and NATS (starting them when missing), starting an S3 server and the seven services…');
  const started = Date.now();
  const stack = await startStack({
    ...opts.stack,
    env,
    prepare: async (e) => {
      if (!opts.keepState) await resetNamespace({ pgUrl: e.REFIT_PG_URL ?? DEFAULT_PG_URL, schemaPrefix: e.REFIT_SCHEMA_PREFIX, natsUrl: e.REFIT_NATS_URL ?? DEFAULT_NATS_URL, stream: e.REFIT_STREAM, natsUser: e.REFIT_NATS_USER, natsPassword: e.REFIT_NATS_PASSWORD });
    },
  });
  try {
    log(`stack up in ${Date.now() - started} ms (logs in ${stack.logDir})`);
    await opts.onStackUp?.(stack);
    log(`security: gRPC over TLS with mutual TLS between services, the CLI as 'admin' (${stack.env.REFIT_TOKEN_FILE}), events signed per service${stack.env.REFIT_NATS_USER === 'admin' ? ', a NATS user per service' : ''}`);
    const c = connect(stack.env);
    const during = opts.duringSecondRun;
    const result = await demoLoop({ clients: () => c, log, onStage: log, during: during ? (id) => during(stack, c, id) : undefined });
    const { probe, predictions } = result;
    log('\n== serving: the same New York 2015 days (never trained on), before and after the retrain');
    log(`  date         temp_max temp_min wind  rained   ${predictions.before.version.padEnd(6)} ${predictions.after.version}`);
    probe.forEach((r, i) => {
      log(`  ${r.date}  ${r.temp_max.padStart(8)} ${r.temp_min.padStart(8)} ${r.wind.padStart(4)}  ${(Number(r.precipitation) > 0 ? 'yes' : 'no').padEnd(6)}  ${predictions.before.probabilities[i].toFixed(3)}  ${predictions.after.probabilities[i].toFixed(3)}`);
    });
    log(`\nloop times: ${result.runs.map((r) => `${r.label.split(':')[0]} ${runDurationMs(r.run)} ms`).join(', ')}`);
    return result;
  } finally {
    await stack.stop();
  }
}

/** The model version and probabilities the deployer serves the probe rows with. */
async function served(c: Clients, pipeline: string, rows: Array<Record<string, string>>): Promise<Served> {
  // With deployer replicas, the ones that did not take the event pick the new champion up from the
  // database within REFIT_SERVING_SYNC_MS (250 ms): until then one may have no model yet.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await c.deployer.predict({ pipeline, rows: rows.map((x) => ({ temp_max: Number(x.temp_max), temp_min: Number(x.temp_min), wind: Number(x.wind) })) });
      return { version: r.modelVersion, probabilities: r.predictions.map((p) => p.probability) };
    } catch (e) {
      if (!(e instanceof FailedPreconditionError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The JSON form of a demo result. */
export function demoJson(r: DemoResult): unknown {
  return { runs: r.runs.map((x) => ({ label: x.label, run: toJson(RunSchema, x.run, { alwaysEmitImplicit: true }) })), predictions: r.predictions, probe: r.probe };
}

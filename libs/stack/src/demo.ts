import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import { connect, formatRun, runDurationMs, waitForRun, type Clients, type Io } from '@refit/cli';
import { RunSchema, RunStatus, type Run } from '@refit/contracts';
import { FailedPreconditionError } from '@refit/platform';
import * as cmd from '@refit/cli';
import { resetNamespace } from './reset.js';
import { REPO_ROOT, startStack, type Stack, type StackOptions } from './stack.js';
import { DEFAULT_NATS_URL, DEFAULT_PG_URL } from './stack-infra.js';
import { writeWeatherSlice } from './weather-data.js';

/** The demo's isolated namespace, reset at every start so each demo begins from nothing. */
export const DEMO_ENV: Record<string, string> = {
  REFIT_SCHEMA_PREFIX: 'refit_demo_',
  REFIT_STREAM: 'REFIT_DEMO',
  REFIT_SUBJECT_PREFIX: 'refitdemo',
  REFIT_S3_BUCKET: 'refit-demo',
};

/** What the demo did, for `--json` and for the end-to-end test. */
export type DemoResult = {
  runs: Array<{ label: string; run: Run }>;
  probe: Array<Record<string, string>>;
  predictions: { before: { version: string; probabilities: number[] }; after: { version: string; probabilities: number[] } };
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

const PIPELINE = 'weather-rain';

async function predictRows(c: Clients, rows: Array<Record<string, string>>) {
  // With deployer replicas, the ones that did not take the event pick the new champion up from the
  // database within REFIT_SERVING_SYNC_MS (250 ms): until then one may have no model yet.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await c.deployer.predict({ pipeline: PIPELINE, rows: rows.map((x) => ({ temp_max: Number(x.temp_max), temp_min: Number(x.temp_min), wind: Number(x.wind) })) });
      return { version: r.modelVersion, probabilities: r.predictions.map((p) => p.probability) };
    } catch (e) {
      if (!(e instanceof FailedPreconditionError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The whole loop on real data: start the stack, apply the weather-rain pipeline, push Seattle
 * 2012–2013, train and deploy the first champion; push New York 2012–2014 (the location shift),
 * retrain, and show the new model evaluated against the champion, promoted and serving.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const log = opts.log ?? (() => undefined);
  const env = { ...DEMO_ENV, ...opts.env };
  const dir = mkdtempSync(join(tmpdir(), 'refit-demo-'));
  const seattle = join(dir, 'seattle-2012-2013.csv');
  const newYork = join(dir, 'new-york-2012-2014.csv');
  writeWeatherSlice(seattle, 'Seattle', 2012, 2013);
  writeWeatherSlice(newYork, 'New York', 2012, 2014);
  // Unseen days from New York 2015 to show that the served predictions change.
  const probe = writeWeatherSlice(join(dir, 'probe.csv'), 'New York', 2015, 2015).filter((_, i) => i % 73 === 0);
  writeFileSync(join(dir, 'probe.jsonl'), probe.map((r) => JSON.stringify(r)).join('\n'));

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
    const quiet: Io = { json: true, progress: false, out: () => undefined, err: () => undefined };
    await cmd.pipelineApply(c, quiet, join(REPO_ROOT, 'examples/weather-rain.yaml'));
    log(`pipeline ${PIPELINE} applied from examples/weather-rain.yaml`);

    const runs: DemoResult['runs'] = [];
    const cycle = async (label: string, file: string, reason: string, during?: (runId: string) => Promise<void>) => {
      const push = await c.ingestion.pushData(
        (async function* () {
          yield { part: { case: 'header' as const, value: { pipeline: PIPELINE, format: 'csv', filename: file } } };
          const { createReadStream } = await import('node:fs');
          for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) yield { part: { case: 'chunk' as const, value: chunk as Buffer } };
        })(),
      );
      log(`\n== ${label}\npushed ${file.split('/').pop()}: ${push.rowsAccepted} rows accepted, ${push.rowsQuarantined} quarantined`);
      const { run } = await c.trigger.triggerRun({ pipeline: PIPELINE, reason });
      const runId = run?.runId ?? '';
      log(`run ${runId} triggered (${reason})`);
      await during?.(runId);
      const done = await waitForRun(c, runId, { timeoutMs: 300_000, onStage: log });
      log(formatRun(done));
      runs.push({ label, run: done });
      if (done.status !== RunStatus.SUCCEEDED) throw new Error(`run ${runId} ${RunStatus[done.status].toLowerCase()}: ${done.failedStage} — ${done.failureReason}`);
      return done;
    };

    await cycle('first model: Seattle 2012–2013', seattle, 'first model for the pipeline');
    const before = await predictRows(c, probe);
    await cycle('location shift: New York 2012–2014', newYork, 'data moved to New York', opts.duringSecondRun ? (id) => opts.duringSecondRun!(stack, c, id) : undefined);
    const after = await predictRows(c, probe);

    log('\n== serving: the same New York 2015 days (never trained on), before and after the retrain');
    log(`  date         temp_max temp_min wind  rained   ${before.version.padEnd(6)} ${after.version}`);
    probe.forEach((r, i) => {
      log(`  ${r.date}  ${r.temp_max.padStart(8)} ${r.temp_min.padStart(8)} ${r.wind.padStart(4)}  ${(Number(r.precipitation) > 0 ? 'yes' : 'no').padEnd(6)}  ${before.probabilities[i].toFixed(3)}  ${after.probabilities[i].toFixed(3)}`);
    });
    log(`\nloop times: ${runs.map((r) => `${r.label.split(':')[0]} ${runDurationMs(r.run)} ms`).join(', ')}`);
    return { runs, probe, predictions: { before, after } };
  } finally {
    await stack.stop();
  }
}

/** The JSON form of a demo result. */
export function demoJson(r: DemoResult): unknown {
  return { runs: r.runs.map((x) => ({ label: x.label, run: toJson(RunSchema, x.run, { alwaysEmitImplicit: true }) })), predictions: r.predictions, probe: r.probe };
}

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect, waitForRun, type Io } from '@refit/cli';
import * as cmd from '@refit/cli';
import { RunStatus } from '@refit/contracts';
import { REPO_ROOT, SERVICES, deployMetricNames, documentedMetricNames, resetNamespace, startStack, type Stack } from '@refit/stack';
import { metricValue, type Scrape, scrapeMetrics, STACK_START_S, waitFor } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Its own namespace on the real Postgres, NATS and S3.
const id = randomBytes(3).toString('hex');
const env = {
  REFIT_SCHEMA_PREFIX: `e2em_${id}_`,
  REFIT_STREAM: `E2EM_${id}`,
  REFIT_SUBJECT_PREFIX: `e2em${id}`,
  REFIT_S3_BUCKET: `e2em-${id}`,
  REFIT_ACK_WAIT_MS: '3000',
  REFIT_MONITOR_WINDOW_MS: '1000',
};
const pgUrl = process.env.REFIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/refit';
const natsUrl = process.env.REFIT_NATS_URL ?? 'nats://127.0.0.1:4222';
const PIPELINE = 'weather-rain';
const quiet: Io = { json: true, progress: false, out: () => undefined, err: () => undefined };

describe('every service exposes Prometheus metrics while the loop runs', () => {
  let stack: Stack;
  const scrape = (s: (typeof SERVICES)[number]): Promise<Scrape> => scrapeMetrics(stack.metricsPorts[s][0]);
  /** Waits until `probe` holds on the scrape of service `s`, and returns that scrape. */
  const until = (s: (typeof SERVICES)[number], probe: (x: Scrape) => boolean, timeoutMs = 120_000): Promise<Scrape> =>
    waitFor(async () => {
      const x = await scrape(s);
      return probe(x) ? x : undefined;
    }, { timeoutMs, intervalMs: 100 });

  beforeAll(async () => {
    stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', `e2em-${id}`), startTimeoutS: STACK_START_S });
  });
  afterAll(async () => {
    await stack?.stop();
    await resetNamespace({ pgUrl, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl, stream: env.REFIT_STREAM });
  });

  it('counts the run as it passes each stage, and the parser accepts every service\'s whole output', async () => {
    // Every family of every service parses, with the process defaults labelled by service.
    for (const s of SERVICES) {
      const x = await scrape(s);
      expect(x.families.get('process_resident_memory_bytes')?.metrics[0].labels, s).toMatchObject({ service: s });
      expect(x.families.has('refit_pg_pool_connections'), s).toBe(true);
    }

    const c = connect(stack.env);
    await cmd.pipelineApply(c, quiet, join(REPO_ROOT, 'examples/weather-rain.yaml'));
    await cmd.dataPush(c, quiet, PIPELINE, join(REPO_ROOT, 'test/e2e/fixtures/seattle-2012.csv'));
    const { run } = await c.trigger.triggerRun({ pipeline: PIPELINE, reason: 'metrics e2e' });
    const runId = run?.runId ?? '';

    await until('trigger', (x) => metricValue(x, 'refit_trigger_decisions_total', { pipeline: PIPELINE, policy: 'manual', outcome: 'start' }) === 1);
    // The trigger times each stage as its result arrives, in order; each stage's own service consumed the event before it.
    const consumedBy = { ingestion: 'ingestion', feature: 'feature', trainer: 'trainer', evaluator: 'evaluator', registry: 'registry', deployer: 'deployer' } as const;
    for (const stage of Object.keys(consumedBy) as Array<keyof typeof consumedBy>) {
      await until('trigger', (x) => metricValue(x, 'refit_stage_duration_seconds', { pipeline: PIPELINE, stage }) === 1);
      const own = await scrape(consumedBy[stage]);
      expect(metricValue(own, 'refit_consumer_acks_total'), stage).toBeGreaterThan(0);
      expect(metricValue(own, 'refit_outbox_published_total'), stage).toBeGreaterThan(0);
    }
    const done = await waitForRun(c, runId, { timeoutMs: 120_000 });
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    const trigger = await until('trigger', (x) => metricValue(x, 'refit_runs_total', { pipeline: PIPELINE, outcome: 'promoted' }) === 1);
    expect(metricValue(trigger, 'refit_runs_total', { pipeline: PIPELINE, outcome: 'failed' })).toBe(0);
    expect(metricValue(trigger, 'refit_grpc_server_handled_total', { grpc_method: 'TriggerRun', grpc_code: 'OK' })).toBe(1);

    // Each stage's domain metric moved once.
    expect(metricValue(await scrape('trainer'), 'refit_training_duration_seconds', { pipeline: PIPELINE })).toBe(1);
    expect(metricValue(await scrape('trainer'), 'refit_training_trials_total', { pipeline: PIPELINE })).toBeGreaterThanOrEqual(1);
    expect(metricValue(await scrape('evaluator'), 'refit_gate_verdicts_total', { pipeline: PIPELINE, verdict: 'pass' })).toBe(1);
    const registry = await scrape('registry');
    expect(metricValue(registry, 'refit_alias_changes_total', { pipeline: PIPELINE, alias: 'champion' })).toBe(1);
    expect(metricValue(registry, 'refit_model_evaluation_metric', { pipeline: PIPELINE, alias: 'champion', version: 'v1', metric: 'accuracy' })).toBeGreaterThan(0.5);
    // The evaluator asked the registry for the champion: a client call counted on one side, served on the other.
    expect(metricValue(await scrape('evaluator'), 'refit_grpc_client_handled_total', { grpc_method: 'GetAlias' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(registry, 'refit_grpc_server_handled_total', { grpc_method: 'GetAlias' })).toBeGreaterThanOrEqual(1);

    // Serving: requests, rows and latency by version and variant, then a live window with feedback.
    const predicted = await c.deployer.predict({ pipeline: PIPELINE, rows: [{ temp_max: 10, temp_min: 2, wind: 4 }, { temp_max: 25, temp_min: 14, wind: 2 }] });
    const served = { pipeline: PIPELINE, version: 'v1', variant: 'champion' };
    let deployer = await until('deployer', (x) => metricValue(x, 'refit_predict_requests_total', served) === 1);
    expect(metricValue(deployer, 'refit_predict_rows_total', served)).toBe(2);
    expect(metricValue(deployer, 'refit_predict_latency_seconds', served)).toBe(1);
    await c.deployer.sendFeedback({ pipeline: PIPELINE, feedback: predicted.predictions.map((p, i) => ({ predictionId: p.predictionId, label: i % 2 })) });
    deployer = await until('deployer', (x) => metricValue(x, 'refit_live_window_labeled', served) === 2);
    expect(metricValue(deployer, 'refit_live_metric', { ...served, metric: 'accuracy' })).toBeGreaterThanOrEqual(0);
    // The monitoring windows reached the feature service (live drift needs more rows than two; its consumer moved).
    expect(metricValue(await until('feature', (x) => metricValue(x, 'refit_consumer_deliveries_total', { consumer: 'feature-monitoring-window' }) > 0), 'refit_consumer_dead_letters_total')).toBe(0);

    // Nothing was left behind: no dead letter and nothing unpublished anywhere.
    const registered = new Set<string>();
    for (const s of SERVICES) {
      const x = await scrape(s);
      expect(metricValue(x, 'refit_consumer_dead_letters_total'), s).toBe(0);
      expect(x.families.get('refit_outbox_depth')?.metrics, s).toHaveLength(1);
      for (const name of x.families.keys()) registered.add(name);
    }
    // Every metric the dashboard, the alerting rules and the README name is one a service registers.
    expect([...deployMetricNames(), ...documentedMetricNames()].filter((n) => !registered.has(n))).toEqual([]);
  });
});

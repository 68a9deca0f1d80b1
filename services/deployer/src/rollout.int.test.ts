import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployerService, RegistryService, Verdict, type LineageSchema, type Rollout } from '@refit/contracts';
import { applyTransform, fitTransform, initBackend, labelsOf, loadModel, parseTransform, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, isNotFound, withTransaction, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, weatherRows, type ServiceProcess, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type DeployerConfig } from './config.js';
import { startDeployerService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../../..');
const spec = parseSpec(readFileSync(join(root, 'examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;

// Live traffic: New York 2014–2015 (the New York model never saw it), with its true labels.
const traffic = weatherRows('New York', '2014-01-01', '2016-01-01').map((r) => ({ date: String(r.date), temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind), precipitation: Number(r.precipitation) }));
const labels = Array.from(labelsOf(traffic as RawRow[], spec.label));

type Stored = { lineage: MessageInitShape<typeof LineageSchema>; modelKey: string; transformKey: string };

describe('progressive delivery: canary, shadow, A/B, analysis and rollback (with the registry)', () => {
  let env: TestEnv;
  let registryProc: ServiceProcess;
  let registry: ReturnType<typeof createClient<typeof RegistryService>>;
  let config: Readonly<DeployerConfig>;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof DeployerService>>;
  const models: Record<'seattle' | 'newYork', Stored> = {} as never;
  let newYorkScores: number[] = [];

  async function storeModel(rows: RawRow[], seed: number): Promise<Stored> {
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, epochs: 6, seed } });
    const [model, transformRef] = await Promise.all([
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, await result.model.serialize(), '.refitm'),
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, serializeTransform(transform), '.json'),
    ]);
    result.model.dispose();
    return { lineage: { model: wireRef(model), transform: wireRef(transformRef), featureNames: transform.outputNames, seed: BigInt(seed), epochs: 6 }, modelKey: model.key, transformKey: transformRef.key };
  }

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  /** A passing evaluation of `m` under a spec with this `rollout:` section (none: direct). */
  async function evaluated(runId: string, m: Stored, rollout?: Record<string, unknown>): Promise<void> {
    const runSpec = rollout ? { ...spec, rollout: { ...spec.rollout, ...rollout } } : spec;
    const context = { runId, pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(runSpec), triggerKind: 'manual', triggerReason: 'rollout test' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelEvaluated, { context, lineage: m.lineage, verdict: Verdict.PASS, reasons: ['pass: test'], candidateMetrics: { accuracy: 0.7 } }, { runId }));
    rt.relay.kick();
  }

  const rollout = (): Promise<Rollout | undefined> =>
    client.getRollout({ pipeline: PIPELINE }).then(
      (r) => r.rollout,
      (err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      },
    );
  const rolloutOf = (runId: string, test: (r: Rollout) => boolean = () => true, what = `the rollout of ${runId}`, timeoutMs = 15_000) =>
    waitFor(async () => {
      const r = await rollout();
      return r && r.runId === runId && test(r) ? r : undefined;
    }, { timeoutMs, what });

  /** Serves the traffic `times` times (100 rows a call), then (unless told not to) sends every true label in one call. */
  async function serve(times = 1, feedback = true): Promise<Array<{ variant: string; modelVersion: string; probability: number; date: string }>> {
    const out: Array<{ variant: string; modelVersion: string; probability: number; date: string }> = [];
    const ids: string[] = [];
    const ys: number[] = [];
    for (let t = 0; t < times; t++) {
      for (let i = 0; i < traffic.length; i += 100) {
        const rows = traffic.slice(i, i + 100);
        const res = await client.predict({ pipeline: PIPELINE, rows: rows.map(({ precipitation: _, ...r }) => r) });
        res.predictions.forEach((p, j) => {
          out.push({ variant: p.variant, modelVersion: p.modelVersion, probability: p.probability, date: rows[j].date });
          ids.push(p.predictionId);
          ys.push(labels[i + j]);
        });
      }
    }
    if (!feedback) return out;
    const fb = await client.sendFeedback({ pipeline: PIPELINE, feedback: ids.map((predictionId, i) => ({ predictionId, label: ys[i] })) });
    expect(Number(fb.joined)).toBe(ids.length);
    return out;
  }

  async function startDeployer(): Promise<void> {
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startDeployerService(rt, config);
    client = createClient(DeployerService, rt.server?.address ?? '');
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-rollout' });
    registryProc = await startServiceProcess('registry', env.env);
    registry = createClient(RegistryService, registryProc.address);
    config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registryProc.address, REFIT_ROLLOUT_TICK_MS: '100', REFIT_MONITOR_WINDOW_MS: '300' }));
    await startDeployer();
    await initBackend({ prefer: config.tfBackend });
    models.seattle = await storeModel(weatherRows('Seattle', '2012-01-01', '2016-01-01') as RawRow[], 42);
    models.newYork = await storeModel(weatherRows('New York', '2012-01-01', '2014-01-01') as RawRow[], 7);
    const transform = parseTransform(await rt.store.get(models.newYork.transformKey));
    const model = await loadModel(await rt.store.get(models.newYork.modelKey));
    newYorkScores = Array.from(model.predict(applyTransform(transform, traffic as RawRow[]).X, traffic.length));
    model.dispose();
  });
  afterAll(async () => {
    client?.close();
    registry?.close();
    await rt?.close();
    await registryProc?.stop();
    await env?.cleanup();
  });

  it('without a rollout section the champion moves at once, as before', async () => {
    await evaluated('r-1', models.seattle);
    await waitFor(async () => (await events(EVENTS.modelServing)).find((e) => e.runId === 'r-1'), { timeoutMs: 15_000, what: 'v1 serving' });
    expect(await rollout()).toBeUndefined();
    const served = await serve();
    expect(served.every((p) => p.variant === 'champion' && p.modelVersion === 'v1')).toBe(true);
    // The columnar fast path answers exactly what the Struct rows get.
    const columns = ['temp_max', 'temp_min', 'wind'] as const;
    const fast = await client.predict({ pipeline: PIPELINE, columns: [...columns], values: traffic.slice(0, 50).flatMap((r) => columns.map((c) => r[c])) });
    expect(fast.predictions).toEqual([]);
    expect(fast.probabilities).toEqual(served.slice(0, 50).map((p) => p.probability));
    expect(fast.predictionIds).toHaveLength(50);
    expect(fast.fromCandidate).toEqual([]);
  });

  it('a canary of a better model (New York on New York traffic) is promoted step by step, and the run completes', async () => {
    await evaluated('r-2', models.newYork, { strategy: 'canary', steps: [10, 50, 100], minLabeled: 50 });
    const weights: number[] = [];
    let r = await rolloutOf('r-2');
    expect(r).toMatchObject({ strategy: 'canary', status: 'active', candidateVersion: 'v2', championVersion: 'v1', step: 0, weight: 10 });
    // The registry moved `candidate`, not `champion`.
    expect((await registry.getAlias({ pipeline: PIPELINE, alias: 'candidate' })).model?.version).toBe('v2');
    expect((await registry.getAlias({ pipeline: PIPELINE, alias: 'champion' })).model?.version).toBe('v1');
    for (let round = 0; round < 12 && r.status === 'active'; round++) {
      if (weights.at(-1) !== r.weight) weights.push(r.weight);
      const served = await serve();
      const share = served.filter((p) => p.variant === 'canary').length / served.length;
      // Within 5 binomial standard deviations of the step's weight.
      const w = r.weight / 100;
      expect(Math.abs(share - w)).toBeLessThanOrEqual(5 * Math.sqrt((w * (1 - w)) / served.length) + 1e-9);
      expect(served.filter((p) => p.variant === 'canary').every((p) => p.modelVersion === 'v2')).toBe(true);
      const step = r.step;
      // A step holds (inconclusive) until enough feedback makes its interval clear: serve more then.
      const next = await rolloutOf('r-2', (x) => x.step !== step || x.status !== 'active', `step ${step} to be decided`, 5000).catch(() => undefined);
      if (!next) continue;
      r = next;
      expect(r.lastOutcome).toBe('pass');
    }
    expect(weights).toEqual([10, 50, 100]);
    expect(r.status).toBe('promoted');
    expect(r.lastReason).toMatch(/pass: accuracy 0\.\d+ \(n=\d+\) vs champion 0\.\d+/);
    const serving = await waitFor(async () => (await events(EVENTS.modelServing)).find((e) => e.runId === 'r-2'), { timeoutMs: 15_000, what: 'v2 serving' });
    expect(serving.version).toBe('v2');
    expect((await client.getDeployment({ pipeline: PIPELINE })).deployment?.modelVersion).toBe('v2');
    const after = await serve();
    expect(after.every((p) => p.variant === 'champion' && p.modelVersion === 'v2')).toBe(true);
    const ledger = (await registry.listLedger({ pipeline: PIPELINE, runId: 'r-2' })).entries;
    expect(ledger.some((e) => e.kind === 'promotion' && e.summary.includes('champion → v2'))).toBe(true);
  });

  it('a canary of the Seattle-only model on New York traffic is rolled back automatically, with the numbers', async () => {
    await evaluated('r-3', models.seattle, { strategy: 'canary', steps: [10, 50, 100], minLabeled: 50 });
    let r = await rolloutOf('r-3');
    // More traffic while the analysis holds (too little feedback, or an interval still too wide).
    for (let i = 0; i < 5 && r.status === 'active'; i++) {
      await serve(2);
      await waitFor(async () => ((await rollout())?.status !== 'active' ? true : undefined), { timeoutMs: 3000, what: 'the canary to be decided' }).catch(() => undefined);
      r = (await rollout()) ?? r;
    }
    expect(r).toMatchObject({ status: 'rolled-back', step: 0, weight: 0, lastOutcome: 'fail' });
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'r-3'), { timeoutMs: 10_000, what: 'run.failed of r-3' });
    expect(failed.stage).toBe('deployer');
    expect(failed.reason).toMatch(/canary of v3 rolled-back at step 1 \(weight 10%\), v2 stays champion: .*fail: accuracy 0\.\d+ \(n=\d+\) vs champion 0\.\d+/);
    const ledger = (await registry.listLedger({ pipeline: PIPELINE, runId: 'r-3' })).entries;
    const rb = ledger.find((e) => e.kind === 'rollback');
    expect(rb?.actor).toBe('deployer');
    expect(JSON.parse(rb?.detailsJson ?? '{}')).toMatchObject({ version: 'v3', champion: 'v2', analysis: { outcome: 'fail', metric: 'accuracy' } });
    // The step's analysis carries the canary's divergence from the champion on its own rows.
    expect((JSON.parse(rb?.detailsJson ?? '{}') as { analysis: { divergence: number } }).analysis.divergence).toBeGreaterThan(0.01);
    expect((await registry.verifyLedger({ pipeline: PIPELINE })).ok).toBe(true);
    // The canary's monitoring windows: the champion also scored its rows, so they carry the
    // divergence between the two (Seattle vs New York models differ), and its error rate.
    const canaryWindows = await waitFor(
      async () => {
        const ws = (await events(EVENTS.monitoringWindow)).filter((w) => w.variant === 'canary' && w.version === 'v3' && w.predictions > 0n);
        return ws.length > 0 ? ws : undefined;
      },
      { timeoutMs: 10_000, what: 'the canary windows' },
    );
    expect(canaryWindows.every((w) => w.metrics.divergence > 0.01 && w.metrics.errorRate === 0)).toBe(true);
    expect((await events(EVENTS.monitoringWindow)).filter((w) => w.variant === 'champion').every((w) => w.metrics.divergence === undefined)).toBe(true);
    // The champion serves everything again.
    const after = await serve();
    expect(after.every((p) => p.variant === 'champion' && p.modelVersion === 'v2')).toBe(true);
  });

  it('a deployer killed mid-canary resumes at the same step and weight; abort rolls back by hand', async () => {
    await evaluated('r-4', models.newYork, { strategy: 'canary', steps: [10, 50, 100], minLabeled: 50, margin: 0.2 });
    await rolloutOf('r-4');
    // A 10 % step sees ~73 canary rows a round: one round leaves it inconclusive a few times in a
    // hundred, so serve again until it moves on (as traffic would).
    let r: Rollout | undefined;
    for (let round = 0; round < 5 && !r; round++) {
      await serve();
      r = await rolloutOf('r-4', (x) => x.step === 1, 'the canary at step 2', 3000).catch(() => undefined);
    }
    if (!r) throw new Error(`the canary never reached step 2: ${JSON.stringify(await rollout())}`);
    client.close();
    await rt.close();
    await startDeployer();
    const resumed = await rollout();
    expect(resumed).toMatchObject({ runId: 'r-4', status: 'active', step: 1, weight: 50, stepStartedAtMs: r.stepStartedAtMs });
    const res = await client.predict({ pipeline: PIPELINE, rows: traffic.slice(0, 400).map(({ precipitation: _, ...x }) => x) });
    const share = res.predictions.filter((p) => p.variant === 'canary' && p.modelVersion === 'v4').length / 400;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    const fast = await client.predict({ pipeline: PIPELINE, columns: ['temp_max', 'temp_min', 'wind'], values: traffic.slice(0, 400).flatMap((x) => [x.temp_max, x.temp_min, x.wind]) });
    expect(fast).toMatchObject({ modelVersion: 'v2', candidateVersion: 'v4', candidateVariant: 'canary' });
    expect(fast.fromCandidate.filter(Boolean).length / 400).toBeGreaterThan(0.4);
    const aborted = await client.abortRollout({ pipeline: PIPELINE, actor: 'alice', reason: 'latency spike' });
    expect(aborted.rollout).toMatchObject({ status: 'aborted', weight: 0 });
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'r-4'), { timeoutMs: 10_000, what: 'run.failed of r-4' });
    expect(failed.reason).toContain('aborted by alice: latency spike');
    const again = await client.abortRollout({ pipeline: PIPELINE, actor: 'alice', reason: 'twice' }).catch((e: unknown) => e);
    expect((again as Error).message).toContain('already aborted');
  });

  it('shadow mode never changes a response, compares on the same rows and rolls a worse shadow back', async () => {
    await evaluated('r-5', models.seattle, { strategy: 'shadow', minLabeled: 50 });
    await rolloutOf('r-5');
    const served = await serve();
    expect(served.every((p) => p.variant === 'champion' && p.modelVersion === 'v2')).toBe(true);
    expect(served.map((p) => p.probability)).toEqual(newYorkScores);
    const r = await rolloutOf('r-5', (x) => x.status !== 'active', 'the shadow to be decided');
    expect(r.status).toBe('rolled-back');
    const analysis = JSON.parse(r.lastAnalysisJson) as { paired: boolean; divergence: number; nCandidate: number };
    expect(analysis.paired).toBe(true);
    expect(analysis.divergence).toBeGreaterThan(0.01);
    expect(analysis.nCandidate).toBe(traffic.length);
    // The monitoring window of the shadow: its live metrics and its divergence from the champion.
    const windows = await waitFor(
      async () => {
        const ws = (await events(EVENTS.monitoringWindow)).filter((w) => w.variant === 'shadow' && w.version === 'v5');
        return ws.reduce((n, w) => n + w.labeled, 0n) === BigInt(traffic.length) ? ws : undefined;
      },
      { timeoutMs: 10_000, what: 'the shadow windows' },
    );
    expect(windows.reduce((n, w) => n + w.predictions, 0n)).toBe(BigInt(traffic.length));
    expect(windows.some((w) => w.predictions > 0n && w.metrics.divergence > 0.01)).toBe(true);
    // The shadow's own scoring time is logged too: its windows carry a latency like any variant's.
    expect(windows.filter((w) => w.predictions > 0n).every((w) => w.meanLatencyMs > 0)).toBe(true);
    expect(windows.filter((w) => w.labeled > 0n).every((w) => w.metrics.accuracy < 0.7)).toBe(true);
  });

  it('A/B assignment is sticky per entity; a manual promotion completes the run', async () => {
    await evaluated('r-6', models.newYork, { strategy: 'ab', entityColumn: 'date', split: 50, minLabeled: 100_000 });
    await rolloutOf('r-6');
    const first = await serve();
    const second = await serve();
    const variants = new Set(first.map((p) => p.variant));
    expect(variants).toEqual(new Set(['champion', 'b']));
    first.forEach((p, i) => expect(second[i]).toMatchObject({ date: p.date, variant: p.variant, modelVersion: p.modelVersion }));
    const promoted = await client.promoteRollout({ pipeline: PIPELINE, actor: 'bob', reason: 'enough seen' });
    expect(promoted.rollout?.status).toBe('promoted');
    const serving = await waitFor(async () => (await events(EVENTS.modelServing)).find((e) => e.runId === 'r-6'), { timeoutMs: 15_000, what: 'v6 serving' });
    expect(serving.version).toBe('v6');
  });

  it('a guardrail rolls a canary back on divergence alone, before any feedback arrives', async () => {
    await evaluated('r-7', models.seattle, { strategy: 'canary', steps: [50, 100], minLabeled: 50, guardrails: { maxDivergence: 0.01, minPredictions: 100 } });
    await rolloutOf('r-7');
    let served: Awaited<ReturnType<typeof serve>> = [];
    for (let i = 0; i < 5 && (await rollout())?.status === 'active'; i++) {
      served = served.concat(await serve(1, false));
      await waitFor(async () => ((await rollout())?.status !== 'active' ? true : undefined), { timeoutMs: 2000, what: 'the guardrail' }).catch(() => undefined);
    }
    expect(served.some((p) => p.variant === 'canary' && p.modelVersion === 'v7')).toBe(true);
    const r = await rollout();
    expect(r).toMatchObject({ runId: 'r-7', status: 'rolled-back', weight: 0, lastOutcome: 'fail' });
    expect(r?.lastReason).toMatch(/^step 1\/2: guardrail: mean divergence from the champion 0\.\d{4} on \d+ rows is above the limit 0\.01$/);
    const analysis = JSON.parse(r?.lastAnalysisJson ?? '{}') as { nCandidate: number; operational: { predictions: number; errors: number; divergence: number } };
    // No feedback was sent: quality could not be judged, the guardrail decided alone.
    expect(analysis.nCandidate).toBe(0);
    expect(analysis.operational.predictions).toBeGreaterThanOrEqual(100);
    expect(analysis.operational.errors).toBe(0);
    const ledger = (await registry.listLedger({ pipeline: PIPELINE, runId: 'r-7' })).entries;
    expect(ledger.find((e) => e.kind === 'rollback')?.summary).toContain('guardrail: mean divergence');
    const after = await serve(1, false);
    expect(after.every((p) => p.variant === 'champion' && p.modelVersion === 'v6')).toBe(true);
  });
});

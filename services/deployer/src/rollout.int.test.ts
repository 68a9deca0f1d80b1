import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployerService, RegistryService, Verdict, type LineageSchema, type Rollout, type StepAnalysis } from '@refit/contracts';
import { applyTransform, fitTransform, initBackend, labelsOf, loadModel, parseTransform, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, isNotFound, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestCredentials, createTestEnv, publishEvent, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, weatherRows, type ServiceProcess, type TestCredentials, type TestEnv } from '@refit/testing';
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

// The typed analysis on the wire is the JSON one (the release before it read), field by field: a
// number undefined in the JSON (null) is unset in the message, a count is an int64.
type Plain = { [k: string]: unknown };
const plainOf = (m: object): Plain =>
  Object.fromEntries(
    Object.entries(m)
      .filter(([k, v]) => !k.startsWith('$') && v !== undefined)
      .map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v !== null && typeof v === 'object' ? plainOf(v as object) : v]),
  );
const withoutNulls = (o: Plain): Plain => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null).map(([k, v]) => [k, typeof v === 'object' ? withoutNulls(v as Plain) : v]));
function expectTypedAnalysis(typed: StepAnalysis | undefined, json: string): void {
  expect(json).not.toBe('');
  expect(typed).toBeDefined();
  expect(plainOf(typed!)).toStrictEqual(withoutNulls(JSON.parse(json) as Plain));
}

type Stored = { lineage: MessageInitShape<typeof LineageSchema>; modelKey: string; transformKey: string };

// Authentication on, as in production: the registry and the deployer talk over mutual TLS, events
// are signed, and people call with tokens (alice and bob are admins), so the recorded actors are real.
describe('progressive delivery: canary, shadow, A/B, analysis and rollback (with the registry)', () => {
  let env: TestEnv;
  let creds: TestCredentials;
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
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 6, seed } });
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
    const message = { context, lineage: m.lineage, verdict: Verdict.PASS, reasons: ['pass: test'], candidateMetrics: { accuracy: 0.7 } };
    await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelEvaluated, message, source: 'evaluator', signer: creds.signer('evaluator'), runId });
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

  /**
   * Serves rounds of traffic (with feedback) until `done`, waiting after each round — never on the
   * clock — until the rollout has moved on or its step's analysis has counted every label sent in
   * that step (then it holds on its own evidence, and more traffic is what it needs).
   */
  async function serveUntil(runId: string, done: (r: Rollout) => boolean, times = 1, rounds = 12): Promise<Rollout> {
    let r = await rolloutOf(runId);
    let step = r.step;
    let inStep = 0;
    const counted = (x: Rollout) => ((JSON.parse(x.lastAnalysisJson || '{}') as { nCandidate?: number }).nCandidate ?? 0) >= inStep;
    for (let round = 0; round < rounds && !done(r) && r.status === 'active'; round++) {
      inStep += (await serve(times)).filter((p) => p.variant !== 'champion').length;
      r = await rolloutOf(runId, (x) => done(x) || x.step !== step || x.status !== 'active' || counted(x), `the rollout of ${runId} to analyse its feedback`);
      if (r.step !== step) [step, inStep] = [r.step, 0];
    }
    return r;
  }

  async function startDeployer(): Promise<void> {
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startDeployerService(rt, config);
    client = createClient(DeployerService, rt.server?.address ?? '', { credentials: await creds.as('alice', ['admin']) });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-rollout' });
    creds = await createTestCredentials();
    registryProc = await startServiceProcess('registry', { ...env.env, ...creds.serviceEnv('registry') });
    registry = createClient(RegistryService, registryProc.address, { credentials: await creds.as('alice', ['admin']) });
    config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registryProc.address, REFIT_ROLLOUT_TICK_MS: '100', REFIT_MONITOR_WINDOW_MS: '300', ...creds.serviceEnv('deployer') }));
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
    creds?.cleanup();
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
    // Labeled canary rows served in the current step: a step is waited on until its analysis has seen them all.
    let inStep = 0;
    for (let round = 0; round < 12 && r.status === 'active'; round++) {
      if (weights.at(-1) !== r.weight) weights.push(r.weight);
      const served = await serve();
      inStep += served.filter((p) => p.variant === 'canary').length;
      const share = served.filter((p) => p.variant === 'canary').length / served.length;
      // Within 5 binomial standard deviations of the step's weight.
      const w = r.weight / 100;
      expect(Math.abs(share - w)).toBeLessThanOrEqual(5 * Math.sqrt((w * (1 - w)) / served.length) + 1e-9);
      expect(served.filter((p) => p.variant === 'canary').every((p) => p.modelVersion === 'v2')).toBe(true);
      const step = r.step;
      // A step holds (inconclusive) until enough feedback makes its always-valid interval clear:
      // once its analysis has counted every label sent and still holds, serve more.
      const seenAll = (x: Rollout) => ((JSON.parse(x.lastAnalysisJson || '{}') as { nCandidate?: number }).nCandidate ?? 0) >= inStep;
      const next = await rolloutOf('r-2', (x) => x.step !== step || x.status !== 'active' || seenAll(x), `step ${step} to analyse its feedback`);
      if (next.step === step && next.status === 'active') continue;
      inStep = 0;
      r = next;
      // A step moves on only when it passed (the next tick may already be analysing the new step).
      expect(r.status).not.toBe('rolled-back');
    }
    expect(weights).toEqual([10, 50, 100]);
    expect(r.status).toBe('promoted');
    expect(r.lastReason).toMatch(/pass: accuracy 0\.\d+ \(n=\d+\) vs champion 0\.\d+/);
    // The rollout over time: each step's weight, start and end, and the analysis it ended on.
    const history = (await client.getRollout({ pipeline: PIPELINE })).rollout?.history ?? [];
    expect(history.map((h) => [h.step, h.weight, h.outcome])).toEqual([
      [0, 10, 'pass'],
      [1, 50, 'pass'],
      [2, 100, 'promoted'],
    ]);
    history.forEach((h, i) => {
      expect(h.endedAtMs).toBeGreaterThanOrEqual(h.startedAtMs);
      if (i > 0) expect(h.startedAtMs).toBe(history[i - 1].endedAtMs);
      expect(h.reason).toMatch(/pass: accuracy/);
      expect(JSON.parse(h.analysisJson)).toMatchObject({ outcome: 'pass', metric: 'accuracy' });
      expectTypedAnalysis(h.analysis, h.analysisJson);
    });
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
    // More traffic while the analysis holds (too little feedback, or an interval still too wide).
    const r = await serveUntil('r-3', (x) => x.status !== 'active', 2);
    expect(r).toMatchObject({ status: 'rolled-back', step: 0, weight: 0, lastOutcome: 'fail' });
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'r-3'), { timeoutMs: 10_000, what: 'run.failed of r-3' });
    expect(failed.stage).toBe('deployer');
    expect(failed.reason).toMatch(/^canary of v3 rolled back at step 1\/3 \(weight 10%\), v2 stays champion: step 1\/3: fail: accuracy 0\.\d+ \(n=\d+\) vs champion 0\.\d+/);
    const ledger = (await registry.listLedger({ pipeline: PIPELINE, runId: 'r-3' })).entries;
    const rb = ledger.find((e) => e.kind === 'rollback');
    expect(rb?.actor).toBe('service:deployer');
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
    // A 10 % step sees ~73 canary rows a round: serve until it moves on (as traffic would).
    const r = await serveUntil('r-4', (x) => x.step === 1);
    if (r.step !== 1) throw new Error(`the canary never reached step 2: ${JSON.stringify(r)}`);
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
    const aborted = await client.abortRollout({ pipeline: PIPELINE, actor: 'mallory', reason: 'latency spike' });
    expect(aborted.rollout).toMatchObject({ status: 'aborted', weight: 0 });
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'r-4'), { timeoutMs: 10_000, what: 'run.failed of r-4' });
    // The actor is who authenticated (alice's token), never the request's `actor` field.
    expect(failed.reason).toContain('aborted by alice: latency spike');
    const abortEntry = (await registry.listLedger({ pipeline: PIPELINE, runId: 'r-4' })).entries.find((e) => e.kind === 'rollback');
    expect(abortEntry?.actor).toBe('alice via service:deployer');
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
    expectTypedAnalysis(r.lastAnalysis, r.lastAnalysisJson);
    expect(r.lastAnalysis).toMatchObject({ paired: true, nCandidate: BigInt(traffic.length) });
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
    const bob = createClient(DeployerService, rt.server?.address ?? '', { credentials: await creds.as('bob', ['admin']) });
    const promoted = await bob.promoteRollout({ pipeline: PIPELINE, reason: 'enough seen' });
    bob.close();
    expect(promoted.rollout?.status).toBe('promoted');
    const serving = await waitFor(async () => (await events(EVENTS.modelServing)).find((e) => e.runId === 'r-6'), { timeoutMs: 15_000, what: 'v6 serving' });
    expect(serving.version).toBe('v6');
    // A person's promotion through the deployer is a manual override in bob's name, not an evidence-based one.
    const moved = (await registry.listLedger({ pipeline: PIPELINE, runId: 'r-6' })).entries.find((e) => e.summary.startsWith('champion → v6'));
    expect(moved).toMatchObject({ kind: 'manual-override', actor: 'bob via service:deployer' });
  });

  it('a guardrail rolls a canary back on divergence alone, before any feedback arrives', async () => {
    await evaluated('r-7', models.seattle, { strategy: 'canary', steps: [50, 100], minLabeled: 50, guardrails: { maxDivergence: 0.01, minPredictions: 100 } });
    await rolloutOf('r-7');
    let served: Awaited<ReturnType<typeof serve>> = [];
    // No feedback: each round waits until the step's analysis counted the candidate's rows (or decided).
    const counted = (x: Rollout) => ((JSON.parse(x.lastAnalysisJson || '{}') as { operational?: { predictions: number } }).operational?.predictions ?? 0) >= served.filter((p) => p.variant === 'canary').length;
    for (let i = 0; i < 5 && (await rollout())?.status === 'active'; i++) {
      served = served.concat(await serve(1, false));
      await rolloutOf('r-7', (x) => x.status !== 'active' || counted(x), 'the guardrail to see the canary rows');
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
    // The candidate's metric on no rows is undefined: null in the JSON, unset in the typed analysis.
    expectTypedAnalysis(r?.lastAnalysis, r?.lastAnalysisJson ?? '');
    expect(r?.lastAnalysis?.operational?.predictions).toBe(BigInt(analysis.operational.predictions));
    expect(r?.lastAnalysis?.candidate).toBeUndefined();
    const ledger = (await registry.listLedger({ pipeline: PIPELINE, runId: 'r-7' })).entries;
    expect(ledger.find((e) => e.kind === 'rollback')?.summary).toContain('guardrail: mean divergence');
    const after = await serve(1, false);
    expect(after.every((p) => p.variant === 'champion' && p.modelVersion === 'v6')).toBe(true);
  });
});

import { fromBinary, fromJson, toJson, type DescMessage, type JsonObject, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployerService, rolloutAnalysisDoc, rolloutAnalysisFromJson, RolloutAnalysisSchema, StepAnalysisSchema, Verdict, type Rollout } from '@refit/contracts';
import { rocAuc } from '@refit/ml';
import { applyTransform, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestCredentials, createTestEnv, publishEvent, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, weatherRows, type ServiceProcess, type TestCredentials, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type DeployerConfig } from './config.js';
import { analyseStep } from './rollout-analysis.js';
import { startDeployerService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;
const traffic = weatherRows('New York', '2014-01-01', '2016-01-01').map((r) => ({ date: String(r.date), temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind), precipitation: Number(r.precipitation) }));
const labels = Array.from(labelsOf(traffic as RawRow[], spec.label));
const ALL = traffic.map((_, i) => i);
const HOUR = 61 * 60_000;

type Ref = ReturnType<typeof wireRef>;
type Lineage = { model: Ref; transform: Ref; featureNames: string[]; seed: bigint; epochs: number; decisionThreshold?: number; evaluationReport?: Ref };
type Stored = { lineage: Lineage; scores: number[] };
type Served = { id: string; i: number; variant: string; version: string; probability: number; y: number };
type Analysis = { outcome: string; metric: string; test: string; paired: boolean; candidate: number; champion: number; nCandidate: number; nChampion: number };

// Every analysis read is checked on the way: the typed field is the JSON one (every JSON key a
// field of the message, null an unset number), field by field.
const analysisOf = (r: Rollout): Analysis => {
  const json = JSON.parse(r.lastAnalysisJson || '{}') as JsonObject;
  if (r.lastAnalysisJson) expect(r.lastAnalysis).toEqual(fromJson(StepAnalysisSchema, json));
  else expect(r.lastAnalysis).toBeUndefined();
  return json as unknown as Analysis;
};
const count = (rows: Served[], variant: string) => rows.filter((s) => s.variant === variant).length;
const accuracyOf = (rows: Served[], threshold = 0.5) => rows.filter((s) => (s.probability >= threshold ? 1 : 0) === s.y).length / rows.length;

// Evidence from concurrent traffic only, with authentication on as in production. The deployer's
// clock is the wall clock plus an offset the tests move, so a hold expires without waiting for it.
describe('rollout evidence: concurrent steps, paired final step, labels before the clock, AUC and business metrics', () => {
  let env: TestEnv;
  let creds: TestCredentials;
  let registryProc: ServiceProcess;
  let config: Readonly<DeployerConfig>;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof DeployerService>>;
  let seattle: Stored;
  let newYork: Stored;
  let offsetMs = 0;

  async function storeModel(rows: RawRow[], seed: number): Promise<Stored> {
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 6, seed } });
    const scores = Array.from(result.model.predict(applyTransform(transform, traffic as RawRow[]).X, traffic.length));
    const model = await rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, await result.model.serialize(), '.refitm');
    const t = await rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, serializeTransform(transform), '.json');
    result.model.dispose();
    return { lineage: { model: wireRef(model), transform: wireRef(t), featureNames: transform.outputNames, seed: BigInt(seed), epochs: 6 }, scores };
  }

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  /** A passing evaluation of `m` with this `rollout:` (and `business:`) section; the lineage as given. */
  async function evaluated(runId: string, lineage: Stored['lineage'], rollout?: Record<string, unknown>, business?: unknown): Promise<void> {
    const runSpec = { ...spec, ...(rollout ? { rollout: { ...spec.rollout, ...rollout } } : {}), ...(business ? { business } : {}) };
    const context = { runId, pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(runSpec), triggerKind: 'manual', triggerReason: 'rollout evidence test' };
    const message = { context, lineage, verdict: Verdict.PASS, reasons: ['pass: test'], candidateMetrics: { accuracy: 0.7 } };
    await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelEvaluated, message, source: 'evaluator', signer: creds.signer('evaluator'), runId });
  }

  const rolloutOf = async (runId: string, test: (r: Rollout) => boolean, what: string, timeoutMs = 20_000): Promise<Rollout> => {
    let last: Rollout | undefined;
    try {
      return await waitFor(
        async () => {
          const r = (await client.getRollout({ pipeline: PIPELINE }).catch(() => undefined))?.rollout;
          last = r;
          return r && r.runId === runId && test(r) ? r : undefined;
        },
        { timeoutMs, what },
      );
    } catch (err) {
      // Say where the rollout stood, so a failure on a loaded machine can be told from a wrong analysis.
      const stood = last && { runId: last.runId, status: last.status, step: last.step, weight: last.weight, lastReason: last.lastReason, analysis: analysisOf(last) };
      throw new Error(`${(err as Error).message}; the rollout stood at ${JSON.stringify(stood, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`, { cause: err });
    }
  };
  /**
   * Waits until this replica serves the rollout as recorded: the rollout's champion and its
   * candidate both answer (probe calls get no labels, so no analysis counts them). A replica
   * catches up with the database within its serving sync; rows served before it has would go to
   * the previous champion, which the rollout rightly does not compare.
   */
  const servesRollout = (r: Rollout) =>
    waitFor(
      async () => {
        const res = await client.predict({ pipeline: PIPELINE, rows: traffic.slice(0, 40).map((t) => ({ date: t.date, temp_max: t.temp_max, temp_min: t.temp_min, wind: t.wind })) });
        const versions = new Set(res.predictions.map((p) => p.modelVersion));
        return versions.has(r.championVersion) && versions.has(r.candidateVersion) ? true : undefined;
      },
      { timeoutMs: 20_000, what: `${r.candidateVersion} and ${r.championVersion} both serving` },
    );
  const serving = (version: string) => waitFor(async () => ((await client.getDeployment({ pipeline: PIPELINE })).deployment?.modelVersion === version ? true : undefined), { timeoutMs: 15_000, what: `${version} serving` });

  /** Serves traffic rows `idx` (100 a call); then, unless told not to, sends their true labels. */
  async function serve(idx: number[], feedback = true): Promise<Served[]> {
    const out: Served[] = [];
    for (let k = 0; k < idx.length; k += 100) {
      const part = idx.slice(k, k + 100);
      const res = await client.predict({ pipeline: PIPELINE, rows: part.map((i) => ({ date: traffic[i].date, temp_max: traffic[i].temp_max, temp_min: traffic[i].temp_min, wind: traffic[i].wind })) });
      res.predictions.forEach((p, j) => out.push({ id: p.predictionId, i: part[j], variant: p.variant, version: p.modelVersion, probability: p.probability, y: labels[part[j]] }));
    }
    if (feedback) await client.sendFeedback({ pipeline: PIPELINE, feedback: out.map((s) => ({ predictionId: s.id, label: s.y })) });
    return out;
  }

  /**
   * Serves `idx` with labels, round after round, until the step moves (or the rollout ends); after
   * each round it waits until the analysis has seen every label of the step (a condition, not a
   * clock); `already`: labeled rows the step had before. Which rows each arm gets is random (the
   * canary split), so how many rounds a step needs is too: 12 were not always enough (seen in CI,
   * an unpaired gain 1.7 sd below its expectation of 0 at ~720 rows an arm); the cap only ends a
   * step that never moves, and the loop leaves as soon as it does.
   */
  async function serveUntilStepMoves(runId: string, idx: number[], already = 0, rounds = 40): Promise<{ r: Rollout; served: Served[] }> {
    const start = await rolloutOf(runId, () => true, `the rollout of ${runId}`);
    const served: Served[] = [];
    for (let round = 0; round < rounds; round++) {
      served.push(...(await serve(idx)));
      const r = await rolloutOf(runId, (x) => x.step !== start.step || x.status !== 'active' || seen(x) >= already + served.length, `the analysis of round ${round + 1}`);
      if (r.step !== start.step || r.status !== 'active') return { r, served };
    }
    throw new Error(`step ${start.step + 1} of ${runId} never moved: ${JSON.stringify(await rolloutOf(runId, () => true, runId), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  }
  // Labeled rows of the step the last analysis saw (paired: each row once).
  const seen = (r: Rollout) => {
    const a = analysisOf(r);
    return a.paired ? a.nCandidate : (a.nCandidate ?? 0) + (a.nChampion ?? 0);
  };

  async function startDeployer(): Promise<void> {
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startDeployerService(rt, config, { clock: () => new Date(Date.now() + offsetMs) });
    client = createClient(DeployerService, rt.server?.address ?? '', { credentials: await creds.as('alice', ['admin']) });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-evidence' });
    creds = await createTestCredentials();
    registryProc = await startServiceProcess('registry', { ...env.env, ...creds.serviceEnv('registry') });
    config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registryProc.address, REFIT_ROLLOUT_TICK_MS: '100', ...creds.serviceEnv('deployer') }));
    await startDeployer();
    await initBackend({ prefer: config.tfBackend });
    seattle = await storeModel(weatherRows('Seattle', '2012-01-01', '2016-01-01') as RawRow[], 42);
    newYork = await storeModel(weatherRows('New York', '2012-01-01', '2014-01-01') as RawRow[], 7);
    await evaluated('e-1', newYork.lineage);
    await serving('v1');
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registryProc?.stop();
    await env?.cleanup();
    creds?.cleanup();
  });

  it('a canary worse on the same rows is rolled back at its last step, where the old comparison with earlier champion rows passed it', async () => {
    // Labels get easier: early rows are ones both models get wrong (and a few both get right),
    // late rows are ones the champion (New York) gets right and the candidate (Seattle) often not.
    const right = (s: Stored, i: number) => (s.scores[i] >= 0.5 ? 1 : 0) === labels[i];
    const bothRight = ALL.filter((i) => right(newYork, i) && right(seattle, i));
    const hard = [...ALL.filter((i) => !right(newYork, i) && !right(seattle, i)), ...bothRight.slice(0, 40)];
    const easy = ALL.filter((i) => right(newYork, i));
    await evaluated('e-2', seattle.lineage, { strategy: 'canary', steps: [50, 100], minLabeled: 50, margin: 0.1 });
    const first = await serveUntilStepMoves('e-2', hard);
    expect(first.r).toMatchObject({ status: 'active', step: 1, weight: 100 });
    const early = first.served;
    const late = await serve(easy);
    expect(late.every((s) => s.variant === 'canary' && s.version === 'v2')).toBe(true);
    const r = await rolloutOf('e-2', (x) => x.status !== 'active', 'the last step to be decided');
    // What the old comparison saw: the candidate's late rows against the champion's early rows.
    const side = (rows: Served[]) => ({ y: rows.map((s) => s.y), p: rows.map((s) => s.probability) });
    const old = analyseStep({ metric: 'accuracy', margin: 0.1, alpha: 0.05, minLabeled: 50 }, side(late), side(early.filter((s) => s.variant === 'champion')), false);
    // …even claimed it was better: its lower bound is above zero.
    expect(old.outcome).toBe('pass');
    expect(old.lower).toBeGreaterThan(0);
    // What happened: both models on the same late rows — the champion is right on every one.
    expect(r).toMatchObject({ status: 'rolled-back', step: 1, weight: 0, lastOutcome: 'fail' });
    const a = analysisOf(r);
    expect(a).toMatchObject({ paired: true, test: 'paired-bootstrap', nCandidate: easy.length, nChampion: easy.length, champion: 1 });
    expect(a.candidate).toBeCloseTo(bothRight.length / easy.length, 12);
    expect(r.lastReason).toMatch(/^step 2\/2: fail: accuracy 0\.\d{4} \(n=\d+\) vs champion 1\.0000 \(n=\d+\)/);
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'e-2'), { what: 'run.failed of e-2' });
    expect(failed.reason).toMatch(/^canary of v2 rolled back at step 2\/2 \(weight 100%\), v1 stays champion: step 2\/2: fail: accuracy/);
    const decided = await waitFor(async () => (await events(EVENTS.rolloutDecided)).find((e) => e.runId === 'e-2'), { what: 'rollout.decided of e-2' });
    expect(decided).toMatchObject({ outcome: 'rolled-back', step: 2 });
    expect(decided.reason).toMatch(/^step 2\/2: fail: /);
    // The typed analysis beside its JSON: the same numbers, and the rollout's own last analysis.
    expect(decided.analysis).toMatchObject({ outcome: 'fail', paired: true, test: 'paired-bootstrap', nCandidate: BigInt(easy.length), champion: 1 });
    expect(decided.analysis).toEqual(rolloutAnalysisFromJson(JSON.parse(decided.analysisJson)));
    expect(rolloutAnalysisDoc(decided.analysis!)).toEqual(JSON.parse(decided.analysisJson));
    expect(toJson(RolloutAnalysisSchema, decided.analysis!)).toEqual(toJson(StepAnalysisSchema, r.lastAnalysis!));
  });

  it('a step short of labeled rows holds until they arrive; when the hold expires the reason names the counts', async () => {
    // The champion's own model as the candidate; onInconclusive promote must still never pass a step without labels.
    await evaluated('e-3', newYork.lineage, { strategy: 'canary', steps: [50, 97, 100], minLabeled: 50, margin: 0.15, onInconclusive: 'promote' });
    await rolloutOf('e-3', (x) => x.step === 0 && x.lastReason.startsWith('too little feedback yet: 0 candidate and 0 champion'), 'the first analysis');
    const unlabeled = await serve(ALL, false);
    offsetMs = HOUR;
    let r = await rolloutOf('e-3', (x) => /short of feedback after the 60-min hold/.test(x.lastReason), 'the expired hold');
    expect(r).toMatchObject({ status: 'active', step: 0 });
    expect(r.lastReason).toBe('step 1/3: still short of feedback after the 60-min hold: 0 candidate and 0 champion labeled predictions in this step, 50 needed on each side; onInconclusive: promote never passes a step without them, so it holds until they arrive');
    offsetMs = 0;
    ({ r } = await serveUntilStepMoves('e-3', ALL));
    expect(unlabeled.length).toBe(730);
    expect(r).toMatchObject({ status: 'active', step: 1, weight: 97 });
    // At 97 % the champion answers ~22 rows a round: the candidate has plenty, the champion not.
    const round = await serve(ALL);
    // The analysis that moved the rollout into this step also saw a round's rows (730): wait for one
    // made in the step (it does not name step 1/3, the one passed), or the check races the tick.
    r = await rolloutOf('e-3', (x) => x.step !== 1 || (seen(x) === round.length && !x.lastReason.startsWith('step 1/3:')), 'the analysis of the 97 % step');
    const [nc, nh] = [count(round, 'canary'), count(round, 'champion')];
    expect(nh).toBeLessThan(50);
    expect(r).toMatchObject({ status: 'active', step: 1, lastOutcome: 'inconclusive' });
    expect(r.lastReason).toBe(`too little feedback yet: ${nc} candidate and ${nh} champion labeled predictions in this step, 50 needed on each side`);
    offsetMs = HOUR;
    r = await rolloutOf('e-3', (x) => x.step !== 1 || /after the 60-min hold/.test(x.lastReason), 'the expired hold at the 97 % step');
    offsetMs = 0;
    expect(r).toMatchObject({ status: 'active', step: 1 });
    expect(r.lastReason).toContain(`: ${nc} candidate and ${nh} champion labeled predictions in this step, 50 needed on each side`);
    ({ r } = await serveUntilStepMoves('e-3', ALL, round.length));
    expect(r).toMatchObject({ status: 'active', step: 2, weight: 100 });
    await serve(ALL);
    r = await rolloutOf('e-3', (x) => x.status !== 'active', 'the last step');
    expect(r.status).toBe('promoted');
    expect(analysisOf(r)).toMatchObject({ paired: true, nCandidate: 730, nChampion: 730, outcome: 'pass' });
    await serving('v3');

    // onInconclusive rollback: the hold expires with a few labels; the sentence says how many.
    await evaluated('e-4', seattle.lineage, { strategy: 'canary', steps: [50, 100], minLabeled: 50 });
    await rolloutOf('e-4', () => true, 'the rollout of e-4');
    const few = await serve(ALL.slice(0, 40));
    await rolloutOf('e-4', (x) => seen(x) === 40, 'the analysis of 40 labels');
    offsetMs = HOUR;
    r = await rolloutOf('e-4', (x) => x.status !== 'active', 'the expired hold of e-4');
    offsetMs = 0;
    const held = `step 1/2: still short of feedback after the 60-min hold: ${count(few, 'canary')} candidate and ${count(few, 'champion')} champion labeled predictions in this step, 50 needed on each side (onInconclusive: rollback)`;
    expect(r).toMatchObject({ status: 'rolled-back', lastReason: held });
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'e-4'), { what: 'run.failed of e-4' });
    expect(failed.reason).toBe(`canary of v4 rolled back at step 1/2 (weight 50%), v3 stays champion: ${held}`);
  });

  it('AUC is a rollout metric of canary and shadow: paired DeLong at the last canary step and in shadow mode', async () => {
    // Seattle ranks New York's rainy days better than New York's own model (AUC 0.65 vs 0.57), though it is miscalibrated.
    await evaluated('e-5', seattle.lineage, { strategy: 'canary', steps: [50, 100], minLabeled: 50, metric: 'auc' });
    const { r: stepped } = await serveUntilStepMoves('e-5', ALL);
    expect(stepped).toMatchObject({ status: 'active', step: 1 });
    await serve(ALL);
    const r = await rolloutOf('e-5', (x) => x.status !== 'active', 'the AUC canary');
    expect(r.status).toBe('promoted');
    const a = analysisOf(r);
    expect(a).toMatchObject({ metric: 'auc', paired: true, test: 'delong', nCandidate: 730, nChampion: 730 });
    expect(a.candidate).toBeCloseTo(rocAuc(labels, seattle.scores), 9);
    expect(a.champion).toBeCloseTo(rocAuc(labels, newYork.scores), 9);
    expect(r.lastReason).toMatch(/^step 2\/2: pass: auc 0\.6\d{3} \(n=730\) vs champion 0\.5\d{3} \(n=730\)/);
    await serving('v5');

    await evaluated('e-6', newYork.lineage, { strategy: 'shadow', minLabeled: 50, metric: 'auc' });
    const { r: shadow } = await serveUntilStepMoves('e-6', ALL);
    expect(shadow.status).toBe('rolled-back');
    const s = analysisOf(shadow);
    expect(s).toMatchObject({ metric: 'auc', paired: true, test: 'delong', outcome: 'fail' });
    expect(s.candidate).toBeCloseTo(rocAuc(labels, newYork.scores), 9);
    expect(s.champion).toBeCloseTo(rocAuc(labels, seattle.scores), 9);
  });

  it('a deployer restarted in the middle of the last step resumes it and keeps comparing on the same rows', async () => {
    await evaluated('e-8', newYork.lineage, { strategy: 'canary', steps: [50, 100], minLabeled: 1000 });
    const { r: last } = await serveUntilStepMoves('e-8', ALL);
    expect(last).toMatchObject({ status: 'active', step: 1, weight: 100 });
    await serve(ALL);
    // Not the analysis that moved it here (step 1/2 at 50 %: its two arms also add up to 730 rows).
    const before = await rolloutOf('e-8', (x) => seen(x) === 730 && !x.lastReason.startsWith('step 1/2:'), 'the held last step');
    expect(analysisOf(before)).toMatchObject({ outcome: 'inconclusive', paired: true, nCandidate: 730, nChampion: 730 });
    expect(before.lastReason).toBe('too little feedback yet: 730 labeled rows scored by both models in this step, 1000 needed');
    client.close();
    await rt.close();
    await startDeployer();
    expect((await client.getRollout({ pipeline: PIPELINE })).rollout).toMatchObject({ runId: 'e-8', status: 'active', step: 1, weight: 100, stepStartedAtMs: last.stepStartedAtMs });
    await serve(ALL);
    const r = await rolloutOf('e-8', (x) => x.status !== 'active', 'the last step after the restart');
    expect(r.status).toBe('promoted');
    const a = analysisOf(r);
    // Every labeled row of the step, before and after the restart, with both models' scores.
    expect(a).toMatchObject({ paired: true, test: 'paired-bootstrap', nCandidate: 1460, nChampion: 1460 });
    const rows = (s: Stored) => ALL.map((i) => ({ id: '', i, variant: '', version: '', probability: s.scores[i], y: labels[i] }));
    expect(a.candidate).toBeCloseTo(accuracyOf(rows(newYork)), 12);
    expect(a.champion).toBeCloseTo(accuracyOf(rows(seattle)), 12);
    // The promotion reaches serving through the registry's alias.changed: the next test starts from it.
    await serving(r.candidateVersion);
  });

  it('a champion moved to another version during a rollout ends the rollout: its candidate was judged against the old champion only', async () => {
    await evaluated('e-moved', newYork.lineage, { strategy: 'canary', steps: [50, 100], minLabeled: 100_000 });
    const before = await rolloutOf('e-moved', (x) => x.status === 'active', 'the rollout of e-moved');
    // Another model goes straight to champion (a direct promotion) while the canary runs.
    await evaluated('e-direct', seattle.lineage, { strategy: 'direct' });
    const ended = await rolloutOf('e-moved', (x) => x.status !== 'active', 'the rollout of e-moved to end', 30_000);
    const now = (await client.getDeployment({ pipeline: PIPELINE })).deployment?.modelVersion ?? '';
    expect(now).not.toBe(before.championVersion);
    expect(ended.status).toBe('aborted');
    expect(ended.lastReason).toBe(
      `the champion moved from ${before.championVersion} to ${now} during the canary of ${before.candidateVersion} (at step 1/2): ${before.candidateVersion} was judged against ${before.championVersion} only; retrain or re-evaluate it against ${now}`,
    );
  });

  it('on independent arms of the same period (A/B): AUC by each arm’s DeLong variance, a business metric of counts by a bootstrap', async () => {
    const auc = (rows: Served[]) => rocAuc(rows.map((x) => x.y), rows.map((x) => x.probability));
    await evaluated('e-ab-auc', newYork.lineage, { strategy: 'ab', entityColumn: 'date', split: 50, minLabeled: 50, metric: 'auc' });
    await servesRollout(await rolloutOf('e-ab-auc', () => true, 'the rollout of e-ab-auc'));
    const arms = await serve(ALL);
    const ab = await rolloutOf('e-ab-auc', (x) => x.status !== 'active' || seen(x) === 730, 'the AUC analysis');
    expect(analysisOf(ab)).toMatchObject({ metric: 'auc', paired: false, test: 'delong-unpaired', nCandidate: count(arms, 'b'), nChampion: count(arms, 'champion') });
    expect(analysisOf(ab).candidate).toBeCloseTo(auc(arms.filter((x) => x.variant === 'b')), 12);
    expect(analysisOf(ab).champion).toBeCloseTo(auc(arms.filter((x) => x.variant === 'champion')), 12);
    if (ab.status === 'active') await client.abortRollout({ pipeline: PIPELINE, reason: 'seen enough' });
    else await serving(ab.status === 'promoted' ? ab.candidateVersion : ab.championVersion);

    const business = { costs: { fp: 1, fn: 5, tp: 0, tn: 0 }, metrics: { expectedCostPer1000: { expr: '1000 * cost / n', goal: 'minimize' } } };
    // The evaluator's report of the run carries the spec's business section; the deployer reads it there.
    const report = await rt.store.putContentAddressed(`pipelines/${PIPELINE}/reports`, Buffer.from(JSON.stringify({ spec: { business } })), '.json');
    await evaluated('e-ab-cost', { ...newYork.lineage, decisionThreshold: 0.3, evaluationReport: wireRef(report) }, { strategy: 'ab', entityColumn: 'date', split: 50, minLabeled: 50, metric: 'expectedCostPer1000' }, business);
    await servesRollout(await rolloutOf('e-ab-cost', () => true, 'the rollout of e-ab-cost'));
    const served = await serve(ALL);
    const r = await rolloutOf('e-ab-cost', (x) => x.status !== 'active' || seen(x) === 730, 'the business analysis');
    const cost = (rows: Served[], t: number) => (1000 * rows.reduce((c, s) => c + ((s.probability >= t ? 1 : 0) === s.y ? 0 : s.y === 1 ? 5 : 1), 0)) / rows.length;
    const a = analysisOf(r);
    expect(a).toMatchObject({ metric: 'expectedCostPer1000', paired: false, test: 'bootstrap' });
    expect(a.candidate).toBeCloseTo(cost(served.filter((x) => x.variant === 'b'), 0.3), 9);
    expect(a.champion).toBeCloseTo(cost(served.filter((x) => x.variant === 'champion'), 0.5), 9);
    expect(r.lastReason).toMatch(/expectedCostPer1000 \d+\.\d{4} \(n=\d+\) vs champion \d+\.\d{4}/);
    if (r.status === 'active') await client.abortRollout({ pipeline: PIPELINE, reason: 'seen enough' });
  });
});

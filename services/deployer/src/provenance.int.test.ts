import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { DeployerService, RegistryService, Verdict } from '@refit/contracts';
import { applyTransform, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, createEventSigner, EVENTS, isPermissionDenied, isUnauthenticated, wireRef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import {
  createTestCredentials,
  createTestEnv,
  publishEvent,
  serviceEnv,
  startServiceProcess,
  startTestRuntime,
  waitConsumed,
  waitFor,
  weatherRows,
  type ServiceProcess,
  type TestCredentials,
  type TestEnv,
} from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startDeployerService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;

// An attacker on the same network: NATS access (NATS may be shared) and the gRPC ports, but no
// service key and no credential. The registry and the deployer run as in production.
describe('only Refit services and authorised people change what is served', () => {
  let env: TestEnv;
  let creds: TestCredentials;
  let registryProc: ServiceProcess;
  let rt: ServiceRuntime;
  let admin: ReturnType<typeof createClient<typeof RegistryService>>;
  let deployer: ReturnType<typeof createClient<typeof DeployerService>>;
  let lineage: { model: ReturnType<typeof wireRef>; transform: ReturnType<typeof wireRef>; featureNames: string[] };

  const context = (runId: string) => ({ runId, pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'provenance test' });
  const evaluated = (runId: string, verdict: Verdict) => ({ context: context(runId), lineage, verdict, reasons: ['test'], candidateMetrics: { accuracy: 0.7 } });
  const served = async () => (await deployer.getDeployment({ pipeline: PIPELINE })).deployment?.modelVersion;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'provenance' });
    creds = await createTestCredentials();
    registryProc = await startServiceProcess('registry', { ...env.env, ...creds.serviceEnv('registry') });
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registryProc.address, ...creds.serviceEnv('deployer') }));
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startDeployerService(rt, config);
    admin = createClient(RegistryService, registryProc.address, { credentials: await creds.as('alice', ['admin']) });
    deployer = createClient(DeployerService, rt.server?.address ?? '', { credentials: await creds.as('alice', ['admin']) });
    await initBackend({ prefer: config.tfBackend });
    const rows = weatherRows('Seattle', '2012-01-01', '2013-01-01') as RawRow[];
    const transform = fitTransform(rows, spec.features);
    const t = applyTransform(transform, rows);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const trained = await trainModel({ X: t.X, y: labelsOf(rows, spec.label), n: t.n, d: t.d, spec: { ...spec.model, solver: 'adam', epochs: 2, seed: 1 } });
    const [model, tr] = await Promise.all([
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, await trained.model.serialize(), '.refitm'),
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, serializeTransform(transform), '.json'),
    ]);
    trained.model.dispose();
    lineage = { model: wireRef(model), transform: wireRef(tr), featureNames: transform.outputNames };

    // v1: a real evaluation, signed by the evaluator, becomes the champion and is served.
    await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelEvaluated, message: evaluated('r-1', Verdict.PASS), source: 'evaluator', signer: creds.signer('evaluator'), runId: 'r-1' });
    await waitFor(async () => ((await served().catch(() => undefined)) === 'v1' ? true : undefined), { timeoutMs: 20_000, what: 'v1 served' });
    // v2: a real evaluation that failed its gates: registered, never champion.
    const seq = await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelEvaluated, message: evaluated('r-2', Verdict.FAIL), source: 'evaluator', signer: creds.signer('evaluator'), runId: 'r-2' });
    await waitConsumed(rt.nc, { stream: env.streamName, durable: 'registry-model-evaluated', seq });
  });
  afterAll(async () => {
    admin?.close();
    deployer?.close();
    await rt?.close();
    await registryProc?.stop();
    await env?.cleanup();
    creds?.cleanup();
  });

  it('a forged model.evaluated (verdict PASS, a run that never existed, the attacker\'s artifacts) makes no champion and no ledger entry', async () => {
    const evil = { ...evaluated('r-evil', Verdict.PASS), lineage: { ...lineage, model: { ...lineage.model, key: 'attacker/model.refitm' } } };
    const attacker = createEventSigner('evaluator', generateKeyPairSync('ed25519').privateKey);
    const unsigned = await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelEvaluated, message: evil, source: 'evaluator', runId: 'r-evil' });
    const wrongKey = await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelEvaluated, message: evil, source: 'evaluator', signer: attacker, runId: 'r-evil' });
    // Signed with a real service key, but not the evaluator's: a trigger may not publish verdicts.
    const wrongSource = await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelEvaluated, message: evil, source: 'trigger', signer: creds.signer('trigger'), runId: 'r-evil' });
    await waitConsumed(rt.nc, { stream: env.streamName, durable: 'registry-model-evaluated', seq: Math.max(unsigned, wrongKey, wrongSource) });
    const { models } = await admin.listModels({ pipeline: PIPELINE });
    expect(models.map((m) => m.runId).sort()).toEqual(['r-1', 'r-2']);
    expect((await admin.getAlias({ pipeline: PIPELINE, alias: 'champion' })).model?.version).toBe('v1');
    expect((await admin.listLedger({ pipeline: PIPELINE, runId: 'r-evil' })).entries).toEqual([]);
    expect((await admin.verifyLedger({ pipeline: PIPELINE })).ok).toBe(true);
  });

  it('a forged alias.changed does not make the deployer serve a version that failed its gates', async () => {
    const message = { pipeline: PIPELINE, alias: 'champion', version: 'v2', previousVersion: 'v1', runId: 'r-2' };
    const seqs = [
      await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.aliasChanged, message, source: 'registry', runId: 'r-2' }),
      await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.aliasChanged, message, source: 'registry', signer: createEventSigner('registry', generateKeyPairSync('ed25519').privateKey), runId: 'r-2' }),
      await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.aliasChanged, message, source: 'deployer', signer: creds.signer('deployer'), runId: 'r-2', id: randomUUID() }),
    ];
    await waitConsumed(rt.nc, { stream: env.streamName, durable: 'deployer-alias-changed', seq: Math.max(...seqs) });
    expect(await served()).toBe('v1');
    expect((await admin.listLedger({ pipeline: PIPELINE, runId: 'r-2' })).entries.map((e) => e.kind)).toEqual(['gate-verdict', 'model-registered']);
  });

  it('mutating calls need a credential and the right role, and the actor recorded is who authenticated', async () => {
    const nobody = createClient(RegistryService, registryProc.address, { credentials: creds.anonymous() });
    const unauthenticated = await nobody.setAlias({ pipeline: PIPELINE, alias: 'champion', version: 'v2', reason: 'x' }).catch((e: unknown) => e);
    expect(isUnauthenticated(unauthenticated)).toBe(true);
    nobody.close();
    const viewer = createClient(RegistryService, registryProc.address, { credentials: await creds.as('vera', ['viewer']) });
    expect(isPermissionDenied(await viewer.setAlias({ pipeline: PIPELINE, alias: 'champion', version: 'v2', reason: 'x' }).catch((e: unknown) => e))).toBe(true);
    expect(isPermissionDenied(await viewer.recordDecision({ pipeline: PIPELINE, kind: 'rollback', summary: 'x' }).catch((e: unknown) => e))).toBe(true);
    viewer.close();
    const operatorDeployer = createClient(DeployerService, rt.server?.address ?? '', { credentials: await creds.as('olga', ['operator']) });
    expect(isPermissionDenied(await operatorDeployer.promoteRollout({ pipeline: PIPELINE, reason: 'x' }).catch((e: unknown) => e))).toBe(true);
    expect(isPermissionDenied(await operatorDeployer.predict({ pipeline: PIPELINE, rows: [{ temp_max: 1, temp_min: 0, wind: 1 }] }).catch((e: unknown) => e))).toBe(true);
    operatorDeployer.close();

    // An admin moving the champion by hand, naming a run and another actor: a manual override in
    // alice's name, never an evidence-based promotion of that run.
    await admin.setAlias({ pipeline: PIPELINE, alias: 'champion', version: 'v2', reason: 'trying v2', actor: 'mallory', runId: 'r-1' });
    const entries = (await admin.listLedger({ pipeline: PIPELINE })).entries.filter((e) => e.summary.startsWith('champion → v2'));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'manual-override', actor: 'alice', runId: '' });
    expect(entries[0].summary).toContain('manual override by alice: trying v2');
    await waitFor(async () => ((await served()) === 'v2' ? true : undefined), { timeoutMs: 15_000, what: 'v2 served after the manual override' });
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { DeployerService, Verdict } from '@refit/contracts';
import { applyTransform, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, withTransaction, wireRef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, weatherRows, type ServiceProcess, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type DeployerConfig } from './config.js';
import { startDeployerService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = join(here, 'migrations');
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;
const row = { temp_max: 10, temp_min: 5, wind: 3 };

/**
 * Two deployer replicas on one database and one durable consumer: whichever consumes an
 * alias.changed, both serve what the database records, and only after it is committed.
 */
describe('deployer replicas', () => {
  let env: TestEnv;
  let registry: ServiceProcess;
  let config: Readonly<DeployerConfig>;
  const replicas: Array<{ rt: ServiceRuntime; client: ReturnType<typeof createClient<typeof DeployerService>> }> = [];

  async function startReplica(): Promise<void> {
    const rt = await startTestRuntime(config, migrations);
    await startDeployerService(rt, config);
    replicas.push({ rt, client: createClient(DeployerService, rt.server?.address ?? '') });
  }

  async function storeModel(rows: RawRow[], seed: number) {
    const rt = replicas[0].rt;
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 4, seed } });
    const [model, transformRef] = await Promise.all([
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, await result.model.serialize(), '.refitm'),
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, serializeTransform(transform), '.json'),
    ]);
    result.model.dispose();
    return { model: wireRef(model), transform: wireRef(transformRef), featureNames: transform.outputNames, seed: BigInt(seed), epochs: 4 };
  }

  /** A passing evaluation of a model: the registry makes it champion and says so on alias.changed. */
  async function promote(runId: string, lineage: Awaited<ReturnType<typeof storeModel>>): Promise<void> {
    const rt = replicas[0].rt;
    const context = { runId, pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'replicas test' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelEvaluated, { context, lineage, verdict: Verdict.PASS, reasons: ['pass: test'], candidateMetrics: { accuracy: 0.7 } }, { runId }));
    rt.relay.kick();
  }

  const served = async (i: number): Promise<string> => (await replicas[i].client.predict({ pipeline: PIPELINE, rows: [row] }).catch(() => ({ modelVersion: 'none' }))).modelVersion;
  const servingEvents = async () => (await readEvents(replicas[0].rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.modelServing.name}` })).map((e) => fromBinary(EVENTS.modelServing.schema, e.data));

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-replicas' });
    registry = await startServiceProcess('registry', env.env);
    config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.address }));
    await startReplica();
    await startReplica();
    await initBackend({ prefer: config.tfBackend });
  });
  afterAll(async () => {
    for (const r of replicas) {
      r.client.close();
      await r.rt.close();
    }
    await registry?.stop();
    await env?.cleanup();
  });

  it('both replicas serve each new champion, whichever consumed its alias.changed, and it is recorded once', async () => {
    await promote('r-1', await storeModel(weatherRows('Seattle', '2012-01-01', '2014-01-01'), 1));
    await waitFor(async () => (await served(0)) === 'v1' && (await served(1)) === 'v1', { what: 'both replicas serving v1' });
    await promote('r-2', await storeModel(weatherRows('New York', '2012-01-01', '2014-01-01'), 2));
    await waitFor(async () => (await servingEvents()).some((e) => e.runId === 'r-2'), { what: 'deployment.serving of v2' });
    const t0 = Date.now();
    await waitFor(async () => (await served(0)) === 'v2' && (await served(1)) === 'v2', { what: 'both replicas serving v2' });
    const lag = Date.now() - t0;
    // Recorded once: one deployment.serving per run, one history row per change.
    expect((await servingEvents()).map((e) => e.runId)).toEqual(['r-1', 'r-2']);
    const history = await replicas[0].rt.pool.query('select version from deployment_history order by id');
    expect(history.rows.map((r) => r.version)).toEqual(['v1', 'v2']);
    console.log(`both replicas served v2 ${lag} ms after deployment.serving (sync every ${config.servingSyncMs} ms)`);
  });

  it('a champion whose recording fails is not served by anyone until a redelivery records it, then by both', async () => {
    const pool = replicas[0].rt.pool;
    // The next deployment_history insert fails once, as a commit would if Postgres went away.
    await pool.query('create table fail_once (armed boolean not null)');
    await pool.query(`insert into fail_once values (true)`);
    await pool.query(`create function fail_once() returns trigger language plpgsql as $$
      begin
        if (select armed from fail_once) then
          raise exception 'injected failure before commit';
        end if;
        return new;
      end $$`);
    await pool.query('create trigger fail_once before insert on deployment_history for each row execute function fail_once()');
    await promote('r-3', await storeModel(weatherRows('Seattle', '2013-01-01', '2015-01-01'), 3));
    // The trigger cannot disarm itself (its transaction rolls back): wait for the failed attempt.
    await waitFor(async () => ((await pool.query("select 1 from consumer_attempts where consumer = 'deployer-alias-changed' and last_error like '%injected failure%'")).rowCount ?? 0) > 0, {
      timeoutMs: 30_000,
      what: 'the failed attempt to record v3',
    });
    // Not recorded, so served by nobody (the old code had swapped it into memory before the commit,
    // and its redelivery then returned early: the row and deployment.serving never came).
    expect([await served(0), await served(1)]).toEqual(['v2', 'v2']);
    expect((await servingEvents()).some((e) => e.runId === 'r-3')).toBe(false);
    await pool.query('update fail_once set armed = false');
    await waitFor(async () => (await servingEvents()).some((e) => e.runId === 'r-3'), { timeoutMs: 60_000, what: 'deployment.serving of v3 after the redelivery' });
    await waitFor(async () => (await served(0)) === 'v3' && (await served(1)) === 'v3', { what: 'both replicas serving v3' });
    const row3 = await pool.query("select version, run_id from deployments where pipeline = $1", [PIPELINE]);
    expect(row3.rows).toEqual([{ version: 'v3', run_id: 'r-3' }]);
  });

  it('singleton work runs in one replica: one holder of the rollout analysis and of the retention lease', async () => {
    const leases = await replicas[0].rt.pool.query<{ name: string; holder: string }>('select name, holder from leases where expires_at > now() order by name');
    expect(leases.rows.map((l) => l.name)).toEqual(['prediction-retention', 'rollout-analysis']);
  });
});

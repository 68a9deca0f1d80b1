import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { RunFailedSchema } from '@refit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, publishEvent, readEvents, startNatsServer, startTcpProxy, waitFor, type TestEnv } from '@refit/testing';
import { loadBaseConfig } from './config.js';
import { InvalidInputError, UnavailableError } from './errors.js';
import { EVENTS, subjectOf } from './events.js';
import { checkHealth } from './grpc/health.js';
import { createLogger } from './logger.js';
import { connectNats } from './nats/connection.js';
import { startRuntime } from './runtime.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;

beforeAll(async () => {
  env = await createTestEnv({ name: 'runtime-outage' });
  dir = await mkdtemp(join(tmpdir(), 'refit-runtime-outage-'));
  await writeFile(join(dir, '001_x.sql'), 'CREATE TABLE x (v int);');
});
afterAll(async () => {
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const configOf = (service: string, extra: Record<string, string> = {}) =>
  loadBaseConfig(service, { defaultGrpcPort: 0, env: { ...env.env, ...extra } });

const runFailedOf = async (nc: Awaited<ReturnType<typeof connectNats>>, runId: string) => {
  const evs = await readEvents(nc, { stream: env.streamName, subject: subjectOf(env.subjectPrefix, EVENTS.runFailed) });
  return evs.map((e) => fromBinary(RunFailedSchema, e.data)).find((e) => e.runId === runId);
};

describe('the runtime through outages', () => {
  it('dead-letters a permanent error at once and fails the run with its reason', async () => {
    await using rt = await startRuntime({ config: configOf('trainer'), logger, migrationsDir: dir });
    let calls = 0;
    await rt.consume({
      name: 'perm',
      event: EVENTS.featuresReady,
      handle: async () => {
        calls++;
        throw new InvalidInputError('the dataset has no label column');
      },
    });
    await using nc = await connectNats({ url: env.natsUrl, name: 'runtime-outage-perm' });
    await publishEvent(nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.featuresReady, message: {}, source: 'feature', runId: 'run-perm' });
    const failed = await waitFor(() => runFailedOf(nc, 'run-perm'), { timeoutMs: 15_000 });
    expect(failed).toMatchObject({ stage: 'trainer', reason: 'the dataset has no label column' });
    expect(calls).toBe(1);
  });

  it('gives a transient failure up only past the horizon, then fails the run with the reason', async () => {
    const config = configOf('evaluator', { REFIT_RETRY_BASE_MS: '100', REFIT_RETRY_MAX_DELAY_MS: '300', REFIT_RETRY_HORIZON_MS: '2500', REFIT_MAX_DELIVER: '2' });
    await using rt = await startRuntime({ config, logger, migrationsDir: dir });
    const deliveries: number[] = [];
    await rt.consume({
      name: 'horizon',
      event: EVENTS.modelTrained,
      handle: async (ev) => {
        deliveries.push(Date.now());
        throw new UnavailableError(`registry unavailable (delivery ${ev.deliveryCount})`);
      },
    });
    await using nc = await connectNats({ url: env.natsUrl, name: 'runtime-outage-horizon' });
    await publishEvent(nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelTrained, message: {}, source: 'trainer', runId: 'run-horizon' });
    const failed = await waitFor(() => runFailedOf(nc, 'run-horizon'), { timeoutMs: 20_000, intervalMs: 200 });
    expect(failed?.stage).toBe('evaluator');
    expect(failed?.reason).toMatch(/registry unavailable/);
    // Far more deliveries than REFIT_MAX_DELIVER, over at least the horizon.
    expect(deliveries.length).toBeGreaterThan(2);
    expect(deliveries[deliveries.length - 1] - deliveries[0]).toBeGreaterThanOrEqual(2000);
  });

  it('reports NOT_SERVING while NATS is down and SERVING once it is back', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'refit-runtime-nats-'));
    let server = await startNatsServer({ storeDir });
    try {
      const config = configOf('registry', { REFIT_NATS_URL: server.url });
      await using rt = await startRuntime({ config, logger, migrationsDir: dir });
      const srv = await rt.serve();
      await waitFor(async () => (await checkHealth(srv.address)) === 'SERVING');
      await server.stop();
      await waitFor(async () => (await checkHealth(srv.address)) === 'NOT_SERVING', { timeoutMs: 15_000, what: 'NOT_SERVING while NATS is down' });
      server = await startNatsServer({ port: server.port, storeDir });
      await waitFor(async () => (await checkHealth(srv.address)) === 'SERVING', { timeoutMs: 20_000, what: 'SERVING once NATS is back' });
    } finally {
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    }
  });

  it('goes NOT_SERVING while the object store is unreachable and SERVING once it answers, unless told the store is not needed', async () => {
    const url = new URL(env.env.REFIT_S3_URL);
    await using proxy = await startTcpProxy({ targetHost: url.hostname, targetPort: Number(url.port) });
    url.host = `127.0.0.1:${proxy.port}`;
    const config = configOf('trainer', { REFIT_S3_URL: url.toString().replace(/\/$/, ''), REFIT_READINESS_PROBE_MS: '300' });
    await using rt = await startRuntime({ config, logger, migrationsDir: dir });
    const srv = await rt.serve();
    await using serving = await startRuntime({ config: configOf('deployer', { REFIT_S3_URL: url.toString().replace(/\/$/, ''), REFIT_READINESS_PROBE_MS: '300' }), logger, migrationsDir: dir, readinessNeedsStore: false });
    const servingSrv = await serving.serve();
    await waitFor(async () => (await checkHealth(srv.address)) === 'SERVING');
    await proxy.down();
    await waitFor(async () => (await checkHealth(srv.address)) === 'NOT_SERVING', { timeoutMs: 15_000, what: 'NOT_SERVING while S3 is down' });
    expect(rt.readiness).toMatchObject({ postgres: true, nats: true, s3: false, ready: false });
    // The runtime that does not need the store kept serving through it.
    expect(await checkHealth(servingSrv.address)).toBe('SERVING');
    expect(serving.readiness).toMatchObject({ s3: true, ready: true });
    await proxy.up();
    await waitFor(async () => (await checkHealth(srv.address)) === 'SERVING', { timeoutMs: 15_000, what: 'SERVING once S3 is back' });
  });

  it('goes NOT_SERVING while Postgres is unreachable, waits the outage out, and serves again after', async () => {
    const url = new URL(env.pgUrl);
    await using proxy = await startTcpProxy({ targetHost: url.hostname, targetPort: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    const config = configOf('feature', { REFIT_PG_URL: url.toString(), REFIT_RETRY_BASE_MS: '100', REFIT_RETRY_MAX_DELAY_MS: '500', REFIT_READINESS_PROBE_MS: '300' });
    await using rt = await startRuntime({ config, logger, migrationsDir: dir });
    const handled: string[] = [];
    await rt.consume({
      name: 'pg-outage',
      event: EVENTS.datasetPrepared,
      handle: async (ev, tx) => {
        await tx.query('INSERT INTO x VALUES (1)');
        handled.push(ev.id);
      },
    });
    const srv = await rt.serve();
    await waitFor(async () => (await checkHealth(srv.address)) === 'SERVING');
    await proxy.down();
    await waitFor(async () => (await checkHealth(srv.address)) === 'NOT_SERVING', { timeoutMs: 15_000, what: 'NOT_SERVING while Postgres is down' });
    expect(rt.readiness).toMatchObject({ postgres: false, nats: true, ready: false });
    await using nc = await connectNats({ url: env.natsUrl, name: 'runtime-outage-pg' });
    await publishEvent(nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.datasetPrepared, message: {}, source: 'ingestion', runId: 'run-pg', id: randomUUID() });
    // Retried while Postgres is away (nothing can be recorded meanwhile)…
    await waitFor(async () => (await nc.jetstreamManager().then((m) => m.consumers.info(env.streamName, 'feature-pg-outage'))).num_redelivered > 0, { timeoutMs: 15_000 });
    await proxy.up();
    // …and handled once it is back, with health SERVING again.
    await waitFor(() => handled.length === 1, { timeoutMs: 20_000, what: 'the event handled after the outage' });
    await waitFor(async () => (await checkHealth(srv.address)) === 'SERVING', { timeoutMs: 15_000 });
    expect(await runFailedOf(nc, 'run-pg')).toBeUndefined();
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryService } from '@refit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, freePort, labelValues, metricValue, publishEvent, scrapeMetrics, waitFor, type TestEnv } from '@refit/testing';
import { loadBaseConfig } from '../config.js';
import { NotFoundError } from '../errors.js';
import { EVENTS } from '../events.js';
import { implement } from '../grpc/handlers.js';
import { notImplemented } from '../grpc/test-handlers.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { startRuntime } from '../runtime.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;

beforeAll(async () => {
  env = await createTestEnv({ name: 'metrics' });
  dir = await mkdtemp(join(tmpdir(), 'refit-metrics-'));
  await writeFile(join(dir, '001_x.sql'), 'CREATE TABLE x (v int);');
});
afterAll(async () => {
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('the metrics endpoint of a runtime', () => {
  it('serves the exposition format on REFIT_METRICS_PORT, with gRPC and consumer counters that move', async () => {
    const port = await freePort();
    const config = loadBaseConfig('registry', { defaultGrpcPort: 0, env: { ...env.env, REFIT_METRICS_PORT: String(port) } });
    await using rt = await startRuntime({ config, logger, migrationsDir: dir });
    expect(rt.metricsPort).toBe(port);
    const server = await rt.serve(
      implement(RegistryService, {
        ...notImplemented(RegistryService),
        getModel: async (req) => {
          if (req.version === 'missing') throw new NotFoundError('no such model');
          return {};
        },
      }),
    );
    let handled = 0;
    await rt.consume({ name: 'm', event: EVENTS.featuresReady, handle: async () => void handled++ });

    // A domain metric defined twice is one family.
    const a = rt.metrics.counter({ name: 'refit_test_things_total', help: 'things', labelNames: ['pipeline'] });
    expect(rt.metrics.counter({ name: 'refit_test_things_total', help: 'things', labelNames: ['pipeline'] })).toBe(a);
    a.inc({ pipeline: 'rain' }, 2);

    const before = await scrapeMetrics(port);
    expect(before.families.get('process_cpu_user_seconds_total')?.metrics[0].labels).toMatchObject({ service: 'registry' });
    expect(before.families.get('nodejs_eventloop_lag_seconds')).toBeDefined();
    expect(metricValue(before, 'refit_test_things_total', { pipeline: 'rain' })).toBe(2);
    expect(metricValue(before, 'refit_pg_pool_connections')).toBeGreaterThan(0);
    expect(before.families.get('refit_outbox_depth')?.metrics).toHaveLength(1);
    const lag = `${config.service}-m`;
    expect(labelValues(before, 'refit_consumer_lag', 'consumer')).toContain(lag);

    const client = rt.connect(RegistryService, server.address);
    await client.getModel({ pipeline: 'rain', version: 'v1' });
    await expect(client.getModel({ pipeline: 'rain', version: 'missing' })).rejects.toThrow('no such model');
    client.close();

    await using nc = await connectNats({ url: env.natsUrl, name: 'metrics-test' });
    await publishEvent(nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.featuresReady, message: {}, source: 'feature', runId: 'run-metrics' });
    await waitFor(() => handled === 1, { timeoutMs: 15_000 });

    const method = { grpc_service: 'refit.registry.v1.RegistryService', grpc_method: 'GetModel' };
    const after = await waitFor(async () => {
      const s = await scrapeMetrics(port);
      return metricValue(s, 'refit_consumer_acks_total', { consumer: lag }) === 1 ? s : undefined;
    }, { timeoutMs: 10_000 });
    expect(metricValue(after, 'refit_grpc_server_handled_total', { ...method, grpc_code: 'OK' })).toBe(1);
    expect(metricValue(after, 'refit_grpc_server_handled_total', { ...method, grpc_code: 'NOT_FOUND' })).toBe(1);
    expect(metricValue(after, 'refit_grpc_server_handling_seconds', method)).toBe(2);
    expect(metricValue(after, 'refit_grpc_client_handled_total', { ...method, grpc_code: 'OK' })).toBe(1);
    expect(metricValue(after, 'refit_grpc_client_handled_total', { ...method, grpc_code: 'NOT_FOUND' })).toBe(1);
    expect(metricValue(after, 'refit_consumer_deliveries_total', { consumer: lag })).toBe(1);
    expect(metricValue(after, 'refit_consumer_redeliveries_total', { consumer: lag })).toBe(0);
    expect(metricValue(after, 'refit_consumer_handling_seconds', { consumer: lag })).toBe(1);
    expect(metricValue(after, 'refit_consumer_lag', { consumer: lag })).toBe(0);

    const notFound = await fetch(`http://127.0.0.1:${port}/other`);
    expect(notFound.status).toBe(404);
  });

  it('counts a dead letter and what the relay published', async () => {
    const port = await freePort();
    const config = loadBaseConfig('trainer', { defaultGrpcPort: 0, env: { ...env.env, REFIT_METRICS_PORT: String(port) } });
    await using rt = await startRuntime({ config, logger, migrationsDir: dir });
    await rt.consume({
      name: 'dl',
      event: EVENTS.modelTrained,
      handle: async () => {
        throw new NotFoundError('the dataset is gone');
      },
    });
    await using nc = await connectNats({ url: env.natsUrl, name: 'metrics-test-dl' });
    await publishEvent(nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.modelTrained, message: {}, source: 'trainer', runId: 'run-dl' });
    // The dead letter fails the run: a run.failed event goes out through the outbox.
    const s = await waitFor(async () => {
      const x = await scrapeMetrics(port);
      return metricValue(x, 'refit_outbox_published_total') >= 1 ? x : undefined;
    }, { timeoutMs: 15_000 });
    expect(metricValue(s, 'refit_consumer_dead_letters_total', { consumer: 'trainer-dl' })).toBe(1);
    expect(metricValue(s, 'refit_outbox_publish_seconds')).toBeGreaterThanOrEqual(1);
    expect(metricValue(s, 'refit_outbox_depth')).toBe(0);
  });

  it('serves and counts nothing of its own without REFIT_METRICS_PORT', async () => {
    await using rt = await startRuntime({ config: loadBaseConfig('feature', { defaultGrpcPort: 0, env: env.env }), logger, migrationsDir: dir });
    expect(rt.metricsPort).toBeUndefined();
    const server = await rt.serve(implement(RegistryService, { ...notImplemented(RegistryService), getModel: async () => ({}) }));
    const client = rt.connect(RegistryService, server.address);
    await client.getModel({ pipeline: 'rain', version: 'v1' });
    client.close();
    const text = await rt.metrics.expose();
    expect(text).not.toMatch(/^refit_grpc_(server|client)_handled_total\{/m);
    expect(text).not.toMatch(/^process_/m);
  });
});

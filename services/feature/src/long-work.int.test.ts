import { fromBinary } from '@bufbuild/protobuf';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createArtifactStore, createPool, EVENTS, withTransaction, wireRef, type PgPool, type ServiceRuntime } from '@refit/platform';
import type { RawRow } from '@refit/modeling';
import { parseSpec } from '@refit/spec';
import { createTestEnv, transactionsHeldThrough, readEvents, serviceEnv, startTestRuntime, waitFor, weatherRows, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startFeatureService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

/**
 * An HTTP proxy in front of the env's S3 that holds every GET of a key with `/gated/` in it until
 * `open()` (or fails them all at `drop()`): the feature work reading such a snapshot stays in
 * progress as long as a test needs.
 */
async function startGatedS3(target: string) {
  const held = new Set<ServerResponse>();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || !req.url?.includes('/gated/')) return forward(req, res);
    held.add(res);
    void gate.then(() => {
      if (held.delete(res)) forward(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** GETs held at the gate now. */
    waiting: () => held.size,
    open: () => release(),
    /** Fails every GET held now (the connection is reset). */
    drop: () => {
      for (const res of held) res.destroy();
      held.clear();
    },
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('feature: fitting outside transactions, two at once, handed back on stop', () => {
  let env: TestEnv;
  /** A pool of the feature service's schema that is not the service's (another application_name). */
  let observer: PgPool;
  const gates: Array<Awaited<ReturnType<typeof startGatedS3>>> = [];

  /** A feature service reading S3 through a gate of its own. */
  async function startFeature() {
    const s3 = await startGatedS3(env.env.REFIT_S3_URL);
    gates.push(s3);
    const config = loadConfig(serviceEnv(env.env, { REFIT_S3_URL: s3.url, REFIT_ACK_WAIT_MS: '60000' }));
    const rt: ServiceRuntime = await startTestRuntime(config, migrations);
    await startFeatureService(rt);
    return { rt, s3 };
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'feature-long-work' });
    observer = createPool({ url: env.pgUrl, schema: env.schema('feature'), applicationName: 'refit-test-observer' });
  });
  afterAll(async () => {
    await observer?.end();
    for (const s3 of gates) await s3.stop();
    await env?.cleanup();
  });

  it('holds no transaction while fitting, prepares two runs at once, and a stop hands both to another replica that records each once', { timeout: 60_000 }, async () => {
    // Two runs of other data (a run's objects are its own).
    const runs = [
      { runId: 'f-1', train: weatherRows('Seattle', '2012-01-01', '2012-10-01') },
      { runId: 'f-2', train: weatherRows('New York', '2012-01-01', '2012-10-01') },
    ];
    const store = createArtifactStore(env.s3);
    const a = await startFeature();
    await using _a = a.rt;
    for (const { runId, train } of runs) {
      const put = (name: string, rows: RawRow[]) => store.put(`pipelines/${spec.name}/snapshots/gated/${runId}/${name}.jsonl`, jsonl(rows));
      const [tr, va, te] = await Promise.all([
        put('train', train),
        put('validation', weatherRows('Seattle', '2012-10-01', '2012-12-01')),
        put('test', weatherRows('Seattle', '2012-12-01', '2013-01-01')),
      ]);
      const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'feature test' };
      const lineage = { snapshotSha256: runId, rawTrain: wireRef(tr), rawValidation: wireRef(va), rawTest: wireRef(te), batchIds: ['b-1'] };
      await withTransaction(a.rt.pool, (tx) => a.rt.publish(tx, EVENTS.datasetPrepared, { context, lineage }, { runId }));
    }
    a.rt.relay.kick();

    // No transaction is held while the work reads the snapshot…
    const noTransactionHeld = async () => expect(await transactionsHeldThrough(observer, { applicationName: `refit:${env.schema('feature')}` })).toEqual([]);
    await waitFor(() => a.s3.waiting() > 0, { timeoutMs: 15_000, what: 'a run in progress' });
    await noTransactionHeld();
    // …and both runs are in progress at once (three splits each).
    await waitFor(() => a.s3.waiting() === 6, { timeoutMs: 15_000, what: 'two runs in progress at once' });
    await noTransactionHeld();

    // Stopped mid-read: both events go back at once, and another replica prepares them.
    const b = await startFeature();
    await using _b = b.rt;
    const closing = a.rt.close();
    await waitFor(() => b.s3.waiting() === 6, { timeoutMs: 15_000, what: 'the second replica to take both over' });
    // The first replica's reads fail now: whatever it does after the hand-back must not count.
    a.s3.drop();
    await closing;
    b.s3.open();
    const rt = b.rt;

    const readyOf = async (runId: string) =>
      (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.featuresReady.name}` }))
        .map((e) => fromBinary(EVENTS.featuresReady.schema, e.data))
        .filter((e) => e.context?.runId === runId);
    for (const { runId } of runs) await waitFor(async () => (await readyOf(runId)).length > 0, { timeoutMs: 20_000, what: `features.ready of ${runId}` });
    const jsm = await rt.nc.jetstreamManager();
    await waitFor(async () => {
      const info = await jsm.consumers.info(env.streamName, 'feature-dataset-prepared');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, { what: 'the feature service to finish with both events' });
    for (const { runId } of runs) {
      expect(await readyOf(runId)).toHaveLength(1);
      for (const table of ['transforms', 'stats']) expect((await observer.query(`select 1 from ${table} where run_id = $1`, [runId])).rowCount).toBe(1);
    }
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, readEvents, waitFor, type TestEnv } from '@refit/testing';
import { EVENTS, subjectOf } from '../events.js';
import { createLogger } from '../logger.js';
import { migrate } from '../pg/migrate.js';
import { createPool, withTransaction, type PgPool } from '../pg/pool.js';
import { createTracing } from '../tracing/tracing.js';
import { connectNats, type RefitNatsConnection } from './connection.js';
import { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_SOURCE, HEADER_TRACE_ID } from './headers.js';
import { enqueueEvent } from './outbox.js';
import { startRelay } from './relay.js';
import { createEventSigner, createEventVerifier, HEADER_SIGNATURE } from './signing.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;
let pool: PgPool;
let nc: RefitNatsConnection;

beforeAll(async () => {
  env = await createTestEnv({ name: 'relay-ce' });
  dir = await mkdtemp(join(tmpdir(), 'refit-relay-ce-'));
  pool = createPool({ url: env.pgUrl, schema: env.schema('registry') });
  await migrate(pool, { schema: env.schema('registry'), dir });
  nc = await connectNats({ url: env.natsUrl, name: 'relay-ce-test' });
});
afterAll(async () => {
  await nc?.close();
  await pool?.end();
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('relay: CloudEvents attributes and trace context', () => {
  it('publishes ce-* headers and the publishing span\'s traceparent beside the Refit headers, still verifiable', async () => {
    const key = generateKeyPairSync('ed25519');
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ service: 'registry', exporter });
    const subject = subjectOf(env.subjectPrefix, EVENTS.modelRegistered);
    let spanIds: { traceId: string; spanId: string } | undefined;
    const id = await tracing.inSpan('register', {}, async (span) => {
      spanIds = span?.spanContext();
      return withTransaction(pool, (tx) =>
        enqueueEvent(tx, { subject, schema: EVENTS.modelRegistered.schema, message: { context: { runId: 'run-ce', pipeline: 'p' } }, runId: 'run-ce', traceId: 'run-ce' }),
      );
    });
    const { rows } = await pool.query<{ created_at: Date }>('SELECT created_at FROM outbox WHERE id = $1', [id]);
    await using relay = startRelay({ pool, nc, logger, source: 'registry', signer: createEventSigner('registry', key.privateKey) });
    relay.kick();
    const [ev] = await waitFor(async () => {
      const evs = await readEvents(nc, { stream: env.streamName, subject });
      return evs.length > 0 && evs;
    });
    expect(ev.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-type': 'refit.events.v1.ModelRegistered',
      'ce-source': '/refit/registry',
      'ce-id': id,
      'ce-time': rows[0].created_at.toISOString(),
      'ce-datacontenttype': 'application/protobuf',
      // The Refit headers are still there, and the run id still travels as Refit-Trace-Id.
      [HEADER_EVENT_ID]: id,
      [HEADER_EVENT_TYPE]: 'refit.events.v1.ModelRegistered',
      [HEADER_SOURCE]: 'registry',
      [HEADER_TRACE_ID]: 'run-ce',
      traceparent: `00-${spanIds?.traceId}-${spanIds?.spanId}-01`,
    });
    expect(ev.headers['ce-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(ev.headers[HEADER_SIGNATURE]).toMatch(/^ed25519:/);
    // The extra headers do not disturb the signature check.
    const verifier = createEventVerifier({ subjectPrefix: env.subjectPrefix, keys: new Map([['registry', [key.publicKey]]]) });
    expect(verifier.problem({ id, type: ev.headers[HEADER_EVENT_TYPE], subject: ev.subject, source: 'registry', runId: 'run-ce', data: ev.data, headers: ev.headers, deliveryCount: 1, decode: () => { throw new Error('unused'); } })).toBeUndefined();
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { BytesValueSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, readEvents, startNatsServer, waitFor, type TestEnv } from '@refit/testing';
import { InvalidInputError } from '../errors.js';
import { createLogger } from '../logger.js';
import { migrate } from '../pg/migrate.js';
import { createPool, withTransaction, type PgPool } from '../pg/pool.js';
import { connectNats, ensureStream, type RefitNatsConnection } from './connection.js';
import { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_NATS_MSG_ID, HEADER_RUN_ID, HEADER_SOURCE, HEADER_TRACE_ID } from './headers.js';
import { deterministicEventId, enqueueEvent } from './outbox.js';
import { startRelay } from './relay.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;
let pool: PgPool;
let nc: RefitNatsConnection;

beforeAll(async () => {
  env = await createTestEnv({ name: 'outbox' });
  dir = await mkdtemp(join(tmpdir(), 'refit-outbox-'));
  await writeFile(join(dir, '001_state.sql'), 'CREATE TABLE runs (id text PRIMARY KEY, state text NOT NULL);');
  pool = createPool({ url: env.pgUrl, schema: env.schema('outbox') });
  await migrate(pool, { schema: env.schema('outbox'), dir });
  nc = await connectNats({ url: env.natsUrl, name: 'outbox-test' });
});
afterAll(async () => {
  await nc?.close();
  await pool?.end();
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const subject = (s: string): string => `${env.subjectPrefix}.${s}`;
const unpublished = async (p = pool): Promise<number> =>
  (await p.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0].n;

describe('outbox + relay', () => {
  it('publishes an event committed with state even when the relay starts later', async () => {
    const id = await withTransaction(pool, async (tx) => {
      await tx.query(`INSERT INTO runs VALUES ('r1', 'requested')`);
      return enqueueEvent(tx, { subject: subject('run.requested'), schema: TimestampSchema, message: { seconds: 42n }, runId: 'r1', traceId: 'tr-1' });
    });
    expect(await unpublished()).toBe(1);
    await using relay = startRelay({ pool, nc, logger, source: 'trigger' });
    relay.kick();
    const events = await waitFor(async () => {
      const evs = await readEvents(nc, { stream: env.streamName, subject: subject('run.requested') });
      return evs.length > 0 && evs;
    });
    expect(events).toHaveLength(1);
    expect(events[0].headers).toMatchObject({
      [HEADER_EVENT_ID]: id,
      [HEADER_NATS_MSG_ID]: id,
      [HEADER_EVENT_TYPE]: 'google.protobuf.Timestamp',
      [HEADER_SOURCE]: 'trigger',
      [HEADER_RUN_ID]: 'r1',
      [HEADER_TRACE_ID]: 'tr-1',
    });
    expect(fromBinary(TimestampSchema, events[0].data).seconds).toBe(42n);
    await waitFor(async () => (await unpublished()) === 0);
  });

  it('publishes nothing for a rolled-back transaction', async () => {
    await using relay = startRelay({ pool, nc, logger, source: 'trigger', pollMs: 20 });
    await expect(
      withTransaction(pool, async (tx) => {
        await enqueueEvent(tx, { subject: subject('rolled.back'), schema: TimestampSchema, message: {} });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    relay.kick();
    // A later committed event proves the relay ran past the point of the rolled-back one.
    await withTransaction(pool, (tx) => enqueueEvent(tx, { subject: subject('rolled.after'), schema: TimestampSchema, message: {} }));
    relay.kick();
    await waitFor(async () => (await readEvents(nc, { stream: env.streamName, subject: subject('rolled.after') })).length === 1);
    expect(await readEvents(nc, { stream: env.streamName, subject: subject('rolled.back') })).toEqual([]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE subject = $1`, [subject('rolled.back')])).rows[0].n).toBe(0);
  });

  it('re-publishing an event (crash before marking it) is dropped by JetStream de-duplication', async () => {
    await using relay = startRelay({ pool, nc, logger, source: 'trigger', pollMs: 20 });
    const id = await withTransaction(pool, (tx) => enqueueEvent(tx, { subject: subject('dedup'), schema: TimestampSchema, message: {} }));
    relay.kick();
    await waitFor(async () => (await unpublished()) === 0);
    await pool.query('UPDATE outbox SET published_at = NULL WHERE id = $1', [id]);
    relay.kick();
    await waitFor(async () => (await unpublished()) === 0);
    expect(await readEvents(nc, { stream: env.streamName, subject: subject('dedup') })).toHaveLength(1);
  });

  it('several relays publish every event exactly once', async () => {
    const relays = [1, 2, 3].map(() => startRelay({ pool, nc, logger, source: 'trigger', pollMs: 10, batchSize: 7 }));
    try {
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) {
        ids.push(await withTransaction(pool, (tx) => enqueueEvent(tx, { subject: subject('many'), schema: TimestampSchema, message: { seconds: BigInt(i) } })));
        if (i % 10 === 0) relays[i % 3].kick();
      }
      await waitFor(async () => (await unpublished()) === 0);
      const events = await readEvents(nc, { stream: env.streamName, subject: subject('many') });
      expect(events.map((e) => e.headers[HEADER_EVENT_ID]).sort()).toEqual([...ids].sort());
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });

  it('validates ids and subjects; a stable id is enqueued once', async () => {
    await withTransaction(pool, async (tx) => {
      await expect(enqueueEvent(tx, { subject: 'no-dots', schema: TimestampSchema, message: {} })).rejects.toThrow(InvalidInputError);
      await expect(enqueueEvent(tx, { subject: subject('x'), schema: TimestampSchema, message: {}, eventId: 'not-a-uuid' })).rejects.toThrow(InvalidInputError);
    });
    const id = deterministicEventId('run.completed', 'r9');
    expect(id).toBe(deterministicEventId('run.completed', 'r9'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await withTransaction(pool, async (tx) => {
      await enqueueEvent(tx, { subject: subject('stable'), schema: TimestampSchema, message: {}, eventId: id });
      await enqueueEvent(tx, { subject: subject('stable'), schema: TimestampSchema, message: {}, eventId: id });
    });
    expect((await pool.query('SELECT count(*)::int AS n FROM outbox WHERE id = $1', [id])).rows[0].n).toBe(1);
  });

  it('refuses an event larger than NATS takes, naming its size and the limit, and writes no row', async () => {
    const maxPayloadBytes = nc.info?.max_payload;
    expect(maxPayloadBytes).toBe(1024 * 1024);
    const big = (size: number) => ({ subject: subject('big'), schema: BytesValueSchema, message: { value: new Uint8Array(size) }, runId: 'r-1' });
    const err = await withTransaction(pool, async (tx) => {
      await tx.query(`INSERT INTO runs VALUES ('r-big', 'requested')`);
      await enqueueEvent(tx, big(2 * 1024 * 1024), { maxPayloadBytes });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/^event big of run r-1 is 2 MiB; NATS takes at most 1 MiB: .*max_payload/);
    expect((err as InvalidInputError).details).toMatchObject({ sizeBytes: expect.any(Number), maxPayloadBytes: 1024 * 1024 });
    expect((await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE subject = $1`, [subject('big')])).rows[0].n).toBe(0);
    expect((await pool.query(`SELECT count(*)::int AS n FROM runs WHERE id = 'r-big'`)).rows[0].n).toBe(0);
    // Without a limit given, NATS's default (1 MiB) applies; what fits is written.
    await withTransaction(pool, async (tx) => {
      await expect(enqueueEvent(tx, big(1024 * 1024))).rejects.toThrow(InvalidInputError);
    });
    await withTransaction(pool, (tx) => enqueueEvent(tx, big(1000 * 1024), { maxPayloadBytes }));
    expect((await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE subject = $1`, [subject('big')])).rows[0].n).toBe(1);
  });

  it('keeps events while NATS is down and publishes them once it is back', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'refit-nats-outage-'));
    const schema = env.schema('outage');
    await using p = createPool({ url: env.pgUrl, schema });
    await migrate(p, { schema, dir });
    let server = await startNatsServer({ storeDir });
    const port = server.port;
    try {
      await using privateNc = await connectNats({ url: server.url, name: 'outage-test' });
      await ensureStream(privateNc, { name: 'OUTAGE', subjectPrefix: 'outage' });
      await using relay = startRelay({ pool: p, nc: privateNc, logger, source: 'trigger', pollMs: 50, maxBackoffMs: 300, publishTimeoutMs: 500 });
      await server.stop();
      for (let i = 0; i < 3; i++) await withTransaction(p, (tx) => enqueueEvent(tx, { subject: 'outage.ev', schema: TimestampSchema, message: {} }));
      relay.kick();
      await new Promise((r) => setTimeout(r, 1000));
      expect(await unpublished(p)).toBe(3);
      server = await startNatsServer({ port, storeDir });
      await waitFor(async () => (await unpublished(p)) === 0, { timeoutMs: 15_000 });
      expect(await readEvents(privateNc, { stream: 'OUTAGE', subject: 'outage.ev' })).toHaveLength(3);
    } finally {
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    }
  });
});

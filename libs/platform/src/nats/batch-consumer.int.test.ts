import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { headers as natsHeaders } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '@refit/testing';
import { createLogger } from '../logger.js';
import { migrate } from '../pg/migrate.js';
import { createPool, type PgPool } from '../pg/pool.js';
import { startBatchConsumer } from './batch-consumer.js';
import { connectNats, type RefitNatsConnection } from './connection.js';
import { startConsumer } from './consumer.js';
import { HEADER_EVENT_ID, HEADER_EVENT_TYPE } from './headers.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;
let pool: PgPool;
let nc: RefitNatsConnection;

beforeAll(async () => {
  env = await createTestEnv({ name: 'batch-consumer' });
  dir = await mkdtemp(join(tmpdir(), 'refit-batch-consumer-'));
  await writeFile(join(dir, '001_taken.sql'), 'CREATE TABLE taken (consumer text, event_id text, PRIMARY KEY (consumer, event_id));');
  pool = createPool({ url: env.pgUrl, schema: env.schema('trigger') });
  await migrate(pool, { schema: env.schema('trigger'), dir });
  nc = await connectNats({ url: env.natsUrl, name: 'batch-consumer-test' });
});
afterAll(async () => {
  await nc?.close();
  await pool?.end();
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const subject = (s: string): string => `${env.subjectPrefix}.${s}`;

/** Publishes `n` Timestamp events on `subj`, as another service's relay would; returns their ids. */
async function publishMany(subj: string, n: number): Promise<string[]> {
  const js = nc.jetstream();
  const ids = Array.from({ length: n }, () => randomUUID());
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      ids.slice(i, i + 200).map((id) => {
        const h = natsHeaders();
        h.set(HEADER_EVENT_ID, id);
        h.set(HEADER_EVENT_TYPE, TimestampSchema.typeName);
        return js.publish(subj, toBinary(TimestampSchema, create(TimestampSchema, { seconds: 1n })), { msgID: id, headers: h });
      }),
    );
  }
  return ids;
}

const takenBy = async (consumer: string): Promise<number> => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM taken WHERE consumer = $1', [consumer])).rows[0].n;
const consumerInfo = async (durable: string) => (await nc.jetstreamManager()).consumers.info(env.streamName, durable);

describe('startBatchConsumer', () => {
  it('takes a flood in batches of at most maxBatch, each in one transaction; a failed batch comes again and nothing is lost or taken twice', async () => {
    const sizes: number[] = [];
    let committed = 0;
    let failOnce = true;
    const consumer = await startBatchConsumer({
      nc,
      pool,
      logger,
      stream: env.streamName,
      durable: 'trigger-flood',
      filterSubject: subject('flood.>'),
      ackWaitMs: 30_000,
      maxBatch: 100,
      lingerMs: 10,
      retry: { baseMs: 50, maxDelayMs: 100 },
      handle: async (events, tx, { afterCommit }) => {
        sizes.push(events.length);
        await tx.query("INSERT INTO taken SELECT 'flood', unnest($1::text[]) ON CONFLICT DO NOTHING", [events.map((e) => e.id)]);
        if (failOnce) {
          failOnce = false;
          throw new Error('the database hiccuped');
        }
        afterCommit(() => committed++);
      },
    });
    try {
      const ids = await publishMany(subject('flood.retrain'), 1000);
      await waitFor(async () => (await takenBy('flood')) === ids.length, { timeoutMs: 60_000 });
      await waitFor(async () => {
        const info = await consumerInfo('trigger-flood');
        return info.num_pending === 0 && info.num_ack_pending === 0;
      }, { timeoutMs: 60_000 });
      expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
      // Batched, not one transaction per event: 1,000 events plus one failed batch taken again.
      expect(sizes.length).toBeLessThan(100);
      expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(ids.length + 1);
      // Each event recorded handled once, by the consumer itself, with its batch.
      expect((await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM handled_events WHERE consumer = 'trigger-flood'")).rows[0].n).toBe(ids.length);
      // The failed batch's afterCommit effect never ran; each committed one's ran once.
      expect(committed).toBe(sizes.length - 1);
    } finally {
      await consumer.stop();
    }
  });
});

describe('startConsumer accept', () => {
  it('acknowledges the events it does not accept without handling them, and handles the rest', async () => {
    const handled: string[] = [];
    let asked = 0;
    const consumer = await startConsumer({
      nc,
      pool,
      logger,
      stream: env.streamName,
      durable: 'trigger-picky',
      filterSubject: subject('picky.>'),
      source: 'trigger',
      subjectPrefix: env.subjectPrefix,
      ackWaitMs: 5000,
      maxDeliver: 3,
      accept: (ev) => {
        asked++;
        return ev.subject.endsWith('.wanted');
      },
      handle: async (ev, tx) => {
        handled.push(ev.id);
        await tx.query("INSERT INTO taken VALUES ('picky', $1)", [ev.id]);
      },
    });
    try {
      const ignored = await publishMany(subject('picky.ignored'), 30);
      const wanted = await publishMany(subject('picky.wanted'), 5);
      await waitFor(async () => {
        const info = await consumerInfo('trigger-picky');
        return info.num_pending === 0 && info.num_ack_pending === 0 && (await takenBy('picky')) === wanted.length;
      }, { timeoutMs: 60_000 });
      expect(asked).toBe(ignored.length + wanted.length);
      expect(handled.sort()).toEqual([...wanted].sort());
    } finally {
      await consumer.stop();
    }
  });
});

describe('a consumer split from another (takeOverFrom)', () => {
  it('starts where the one it was split from had got to, not at the start of the stream', async () => {
    const opts = (durable: string, takeOverFrom?: string) => ({
      nc,
      pool,
      logger,
      stream: env.streamName,
      durable,
      filterSubject: subject('split.>'),
      source: 'trigger',
      subjectPrefix: env.subjectPrefix,
      ackWaitMs: 5000,
      maxDeliver: 3,
      takeOverFrom,
      handle: async (ev: { id: string }, tx: { query: (q: string, p: unknown[]) => Promise<unknown> }) => {
        await tx.query('INSERT INTO taken VALUES ($1, $2)', [durable, ev.id]);
      },
    });
    const before = await publishMany(subject('split.old'), 10);
    const old = await startConsumer(opts('trigger-before-split'));
    await waitFor(async () => (await takenBy('trigger-before-split')) === before.length, { timeoutMs: 60_000 });
    await old.stop();
    // The new consumer takes over: what the old one had taken is not taken again.
    const split = await startConsumer(opts('trigger-after-split', 'trigger-before-split'));
    try {
      const after = await publishMany(subject('split.new'), 3);
      await waitFor(async () => (await takenBy('trigger-after-split')) === after.length, { timeoutMs: 60_000 });
      const { rows } = await pool.query<{ event_id: string }>("SELECT event_id FROM taken WHERE consumer = 'trigger-after-split'");
      expect(rows.map((r) => r.event_id).sort()).toEqual([...after].sort());
      // A new consumer with nothing to take over from starts at the beginning, as before.
      const fresh = await startConsumer(opts('trigger-fresh', 'trigger-no-such-durable'));
      try {
        await waitFor(async () => (await takenBy('trigger-fresh')) === before.length + after.length, { timeoutMs: 60_000 });
      } finally {
        await fresh.stop();
      }
    } finally {
      await split.stop();
    }
  });
});

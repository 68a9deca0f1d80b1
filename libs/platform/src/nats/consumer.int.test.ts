import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { StructSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import { AckPolicy, headers as natsHeaders } from 'nats';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, readEvents, waitFor, type TestEnv } from '@refit/testing';
import { InvalidInputError } from '../errors.js';
import { createLogger } from '../logger.js';
import { migrate } from '../pg/migrate.js';
import { createPool, withTransaction, type PgPool } from '../pg/pool.js';
import { connectNats, type RefitNatsConnection } from './connection.js';
import { startConsumer, type ConsumerOptions } from './consumer.js';
import {
  HEADER_CONSUMER,
  HEADER_ERROR,
  HEADER_EVENT_ID,
  HEADER_EVENT_TYPE,
  HEADER_ORIGINAL_EVENT_ID,
  HEADER_ORIGINAL_SUBJECT,
  HEADER_RUN_ID,
} from './headers.js';
import { enqueueEvent } from './outbox.js';
import type { ReceivedEvent } from './received-event.js';
import { startRelay, type Relay } from './relay.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;
let pool: PgPool;
let nc: RefitNatsConnection;
let relay: Relay;

beforeAll(async () => {
  env = await createTestEnv({ name: 'consumer' });
  dir = await mkdtemp(join(tmpdir(), 'refit-consumer-'));
  await writeFile(join(dir, '001_seen.sql'), 'CREATE TABLE seen (event_id text, note text);');
  pool = createPool({ url: env.pgUrl, schema: env.schema('trainer') });
  await migrate(pool, { schema: env.schema('trainer'), dir });
  nc = await connectNats({ url: env.natsUrl, name: 'consumer-test' });
  relay = startRelay({ pool, nc, logger, source: 'trainer', pollMs: 50 });
});
afterAll(async () => {
  await relay?.stop();
  await nc?.close();
  await pool?.end();
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const subject = (s: string): string => `${env.subjectPrefix}.${s}`;

/** Publishes a Timestamp event straight to JetStream (as another service's relay would). */
async function publish(subj: string, opts: { id?: string; msgId?: string; runId?: string; seconds?: number } = {}): Promise<string> {
  const id = opts.id ?? randomUUID();
  const h = natsHeaders();
  h.set(HEADER_EVENT_ID, id);
  h.set(HEADER_EVENT_TYPE, TimestampSchema.typeName);
  if (opts.runId) h.set(HEADER_RUN_ID, opts.runId);
  await nc.jetstream().publish(subj, toBinary(TimestampSchema, create(TimestampSchema, { seconds: BigInt(opts.seconds ?? 1) })), { msgID: opts.msgId ?? id, headers: h });
  return id;
}

function consumerOpts(name: string, handle: ConsumerOptions['handle'], extra: Partial<ConsumerOptions> = {}): ConsumerOptions {
  return {
    nc,
    pool,
    logger,
    stream: env.streamName,
    durable: `trainer-${name}`,
    filterSubject: subject(`${name}.>`),
    source: 'trainer',
    subjectPrefix: env.subjectPrefix,
    ackWaitMs: 5000,
    maxDeliver: 3,
    relay,
    retryDelayMs: () => 100,
    handle,
    ...extra,
  };
}

const consumerInfo = async (durable: string) => (await nc.jetstreamManager()).consumers.info(env.streamName, durable);
const seenCount = async (eventId: string): Promise<number> =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM seen WHERE event_id = $1', [eventId])).rows[0].n;
const recordSeen = async (ev: ReceivedEvent, tx: pg.PoolClient): Promise<void> => {
  await tx.query('INSERT INTO seen VALUES ($1, $2)', [ev.id, 'handled']);
};

describe('startConsumer', () => {
  it('handles an event in a transaction with its outgoing events, then acks', async () => {
    const got: ReceivedEvent[] = [];
    await using _c = await startConsumer(
      consumerOpts('basic', async (ev, tx) => {
        got.push(ev);
        await recordSeen(ev, tx);
        await enqueueEvent(tx, { subject: subject('basic-out.done'), schema: TimestampSchema, message: ev.decode(TimestampSchema), runId: ev.runId });
      }),
    );
    const id = await publish(subject('basic.requested'), { runId: 'run-7', seconds: 7 });
    await waitFor(async () => (await seenCount(id)) === 1);
    expect(got[0]).toMatchObject({ id, type: TimestampSchema.typeName, subject: subject('basic.requested'), runId: 'run-7', deliveryCount: 1 });
    expect(got[0].decode(TimestampSchema).seconds).toBe(7n);
    expect(() => got[0].decode(StructSchema)).toThrow(InvalidInputError);
    const out = await waitFor(async () => {
      const evs = await readEvents(nc, { stream: env.streamName, subject: subject('basic-out.done') });
      return evs.length > 0 && evs;
    });
    expect(out[0].headers[HEADER_RUN_ID]).toBe('run-7');
    await waitFor(async () => (await consumerInfo('trainer-basic')).num_ack_pending === 0);
    const info = await consumerInfo('trainer-basic');
    expect(info.config).toMatchObject({ ack_policy: AckPolicy.Explicit, max_deliver: -1, filter_subject: subject('basic.>') });
  });

  it('handles an event published twice with the same id exactly once', async () => {
    let calls = 0;
    await using _c = await startConsumer(consumerOpts('dup', async (ev, tx) => {
      calls++;
      await recordSeen(ev, tx);
    }));
    const id = randomUUID();
    // Different Nats-Msg-Id so JetStream stores both copies; same Refit-Event-Id.
    await publish(subject('dup.x'), { id, msgId: randomUUID() });
    await publish(subject('dup.x'), { id, msgId: randomUUID() });
    await waitFor(async () => (await consumerInfo('trainer-dup')).num_pending === 0 && (await consumerInfo('trainer-dup')).num_ack_pending === 0);
    expect(calls).toBe(1);
    expect(await seenCount(id)).toBe(1);
  });

  it('does not handle again an event whose handler committed but whose ack was lost', async () => {
    let calls = 0;
    const handle = async (ev: ReceivedEvent, tx: pg.PoolClient): Promise<void> => {
      calls++;
      await recordSeen(ev, tx);
    };
    const opts = consumerOpts('lostack', handle, { ackWaitMs: 1000 });
    // Create the durable, then stop: we play the replica that crashes after COMMIT, before ack.
    await (await startConsumer(opts)).stop();
    const id = await publish(subject('lostack.x'));
    const raw = await nc.jetstream().consumers.get(env.streamName, 'trainer-lostack');
    const msg = await raw.next({ expires: 2000 });
    expect(msg?.headers?.get(HEADER_EVENT_ID)).toBe(id);
    await withTransaction(pool, async (tx) => {
      await tx.query('INSERT INTO handled_events (consumer, event_id) VALUES ($1, $2)', ['trainer-lostack', id]);
      await tx.query('INSERT INTO seen VALUES ($1, $2)', [id, 'crashed replica']);
    });
    // A restarted replica gets the redelivery after ack_wait and only acks it.
    await using _c = await startConsumer(opts);
    await waitFor(async () => {
      const info = await consumerInfo('trainer-lostack');
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.num_redelivered === 0 && info.delivered.stream_seq > 0;
    }, { timeoutMs: 8000 });
    expect(calls).toBe(0);
    expect(await seenCount(id)).toBe(1);
  });

  it('dead-letters a permanent error at once and calls onDeadLetter in the same transaction', async () => {
    let calls = 0;
    const dead: Array<{ id: string; error: unknown }> = [];
    await using _c = await startConsumer(
      consumerOpts(
        'perm',
        async (ev, tx) => {
          calls++;
          await recordSeen(ev, tx); // rolled back
          throw new InvalidInputError('dataset has no label column');
        },
        {
          onDeadLetter: async (ev, error, tx) => {
            dead.push({ id: ev.id, error });
            await tx.query('INSERT INTO seen VALUES ($1, $2)', [ev.id, 'dead']);
          },
        },
      ),
    );
    const id = await publish(subject('perm.x'), { runId: 'run-p' });
    const dlq = await waitFor(async () => {
      const evs = await readEvents(nc, { stream: env.streamName, subject: subject('dlq.trainer') });
      const mine = evs.filter((e) => e.headers[HEADER_ORIGINAL_EVENT_ID] === id);
      return mine.length > 0 && mine;
    });
    expect(calls).toBe(1);
    expect(dead).toHaveLength(1);
    expect(dead[0].error).toBeInstanceOf(InvalidInputError);
    expect((await pool.query('SELECT note FROM seen WHERE event_id = $1', [id])).rows).toEqual([{ note: 'dead' }]);
    expect(dlq).toHaveLength(1);
    expect(dlq[0].headers).toMatchObject({
      [HEADER_EVENT_TYPE]: TimestampSchema.typeName,
      [HEADER_ORIGINAL_SUBJECT]: subject('perm.x'),
      [HEADER_RUN_ID]: 'run-p',
      [HEADER_CONSUMER]: 'trainer-perm',
    });
    expect(dlq[0].headers[HEADER_ERROR]).toContain('dataset has no label column');
    expect(dlq[0].headers[HEADER_EVENT_ID]).not.toBe(id);
    expect(Buffer.from(dlq[0].data)).toEqual(Buffer.from(toBinary(TimestampSchema, create(TimestampSchema, { seconds: 1n }))));
    await waitFor(async () => (await consumerInfo('trainer-perm')).num_ack_pending === 0);
  });

  it('retries a transient error, then dead-letters after maxDeliver', async () => {
    const attempts: number[] = [];
    let deadLetters = 0;
    await using _c = await startConsumer(
      consumerOpts(
        'flaky',
        async (ev) => {
          attempts.push(ev.deliveryCount);
          throw new Error('registry unreachable');
        },
        { onDeadLetter: async () => void deadLetters++ },
      ),
    );
    const id = await publish(subject('flaky.x'));
    await waitFor(async () => {
      const evs = await readEvents(nc, { stream: env.streamName, subject: subject('dlq.trainer') });
      return evs.some((e) => e.headers[HEADER_ORIGINAL_EVENT_ID] === id);
    });
    expect(attempts).toEqual([1, 2, 3]);
    expect(deadLetters).toBe(1);
    // Nothing comes back afterwards.
    await new Promise((r) => setTimeout(r, 400));
    expect(attempts).toHaveLength(3);
  });

  it('retries a transient error and succeeds without dead-lettering', async () => {
    let attempts = 0;
    await using _c = await startConsumer(consumerOpts('recover', async (ev, tx) => {
      attempts++;
      if (attempts === 1) throw new Error('db hiccup');
      await recordSeen(ev, tx);
    }));
    const id = await publish(subject('recover.x'));
    await waitFor(async () => (await seenCount(id)) === 1);
    expect(attempts).toBe(2);
    const evs = await readEvents(nc, { stream: env.streamName, subject: subject('dlq.trainer') });
    expect(evs.some((e) => e.headers[HEADER_ORIGINAL_EVENT_ID] === id)).toBe(false);
  });

  it('keeps a long handler from being redelivered by sending working()', async () => {
    let calls = 0;
    const handle = async (ev: ReceivedEvent, tx: pg.PoolClient): Promise<void> => {
      calls++;
      await new Promise((r) => setTimeout(r, 3500)); // 3.5 × ack_wait
      await recordSeen(ev, tx);
    };
    // Two replicas: a redelivery would reach the idle one.
    await using _a = await startConsumer(consumerOpts('long', handle, { ackWaitMs: 1000 }));
    await using _b = await startConsumer(consumerOpts('long', handle, { ackWaitMs: 1000 }));
    const id = await publish(subject('long.x'));
    await waitFor(async () => (await seenCount(id)) === 1, { timeoutMs: 10_000 });
    await waitFor(async () => (await consumerInfo('trainer-long')).num_ack_pending === 0);
    expect(calls).toBe(1);
    // Every delivery, redeliveries included, takes a consumer sequence number: only one happened.
    expect((await consumerInfo('trainer-long')).delivered.consumer_seq).toBe(1);
  });

  it('stop() waits for the event in flight and takes no more', async () => {
    let started = 0;
    let finished = 0;
    const c = await startConsumer(consumerOpts('stop', async (ev, tx) => {
      started++;
      await new Promise((r) => setTimeout(r, 500));
      await recordSeen(ev, tx);
      finished++;
    }));
    const id = await publish(subject('stop.x'));
    await waitFor(() => started === 1);
    await c.stop();
    expect(finished).toBe(1);
    expect(await seenCount(id)).toBe(1);
    await waitFor(async () => (await consumerInfo('trainer-stop')).num_ack_pending === 0);
    await publish(subject('stop.y'));
    await new Promise((r) => setTimeout(r, 300));
    expect(started).toBe(1);
    await c.stop();
  });

  it('still dead-letters when onDeadLetter throws', async () => {
    await using _c = await startConsumer(
      consumerOpts('hookfail', async () => Promise.reject(new InvalidInputError('bad')), {
        onDeadLetter: async (ev, _err, tx) => {
          await tx.query('INSERT INTO seen VALUES ($1, $2)', [ev.id, 'hook']);
          throw new Error('hook broke');
        },
      }),
    );
    const id = await publish(subject('hookfail.x'));
    await waitFor(async () => {
      const evs = await readEvents(nc, { stream: env.streamName, subject: subject('dlq.trainer') });
      return evs.some((e) => e.headers[HEADER_ORIGINAL_EVENT_ID] === id);
    });
    // The hook's writes were rolled back with it.
    expect(await seenCount(id)).toBe(0);
  });

  it('refuses a durable whose filter changed and a missing stream', async () => {
    await (await startConsumer(consumerOpts('filter', async () => undefined))).stop();
    await expect(startConsumer(consumerOpts('filter', async () => undefined, { filterSubject: subject('other.>') }))).rejects.toThrow(/new durable name/);
    await expect(startConsumer(consumerOpts('filter', async () => undefined, { stream: 'NO_SUCH_STREAM' }))).rejects.toThrow(/does not exist/);
  });
});

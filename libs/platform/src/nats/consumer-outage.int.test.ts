import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { headers as natsHeaders } from 'nats';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, readEvents, waitFor, type TestEnv } from '@refit/testing';
import { UnavailableError } from '../errors.js';
import { createLogger } from '../logger.js';
import { migrate } from '../pg/migrate.js';
import { createPool, type PgPool } from '../pg/pool.js';
import { connectNats, type RefitNatsConnection } from './connection.js';
import { startConsumer, type ConsumerOptions } from './consumer.js';
import { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_ORIGINAL_EVENT_ID, HEADER_RUN_ID } from './headers.js';
import type { ReceivedEvent } from './received-event.js';
import { claimAttempt } from './attempts.js';
import { startRelay, type Relay } from './relay.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;
let pool: PgPool;
let nc: RefitNatsConnection;
let relay: Relay;

beforeAll(async () => {
  env = await createTestEnv({ name: 'consumer-outage' });
  dir = await mkdtemp(join(tmpdir(), 'refit-consumer-outage-'));
  await writeFile(join(dir, '001_seen.sql'), 'CREATE TABLE seen (event_id text, note text);');
  pool = createPool({ url: env.pgUrl, schema: env.schema('trainer') });
  await migrate(pool, { schema: env.schema('trainer'), dir });
  nc = await connectNats({ url: env.natsUrl, name: 'consumer-outage-test' });
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

async function publish(subj: string, opts: { runId?: string } = {}): Promise<string> {
  const id = randomUUID();
  const h = natsHeaders();
  h.set(HEADER_EVENT_ID, id);
  h.set(HEADER_EVENT_TYPE, TimestampSchema.typeName);
  if (opts.runId) h.set(HEADER_RUN_ID, opts.runId);
  await nc.jetstream().publish(subj, toBinary(TimestampSchema, create(TimestampSchema, { seconds: 1n })), { msgID: id, headers: h });
  return id;
}

// Loosely typed so the same options also run against a consumer without work/effects support.
function consumerOpts(name: string, extra: Record<string, unknown>): ConsumerOptions {
  return {
    nc,
    pool,
    logger,
    stream: env.streamName,
    durable: `trainer-${name}`,
    filterSubject: subject(`${name}.>`),
    source: 'trainer',
    subjectPrefix: env.subjectPrefix,
    ackWaitMs: 30_000,
    maxDeliver: 3,
    relay,
    retry: { baseMs: 100, maxDelayMs: 500, horizonMs: 120_000 },
    ...extra,
  } as unknown as ConsumerOptions;
}

const seenCount = async (eventId: string): Promise<number> =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM seen WHERE event_id = $1', [eventId])).rows[0].n;
const recordSeen = async (ev: ReceivedEvent, tx: pg.PoolClient, note = 'handled'): Promise<void> => {
  await tx.query('INSERT INTO seen VALUES ($1, $2)', [ev.id, note]);
};
const deadLettered = async (id: string): Promise<boolean> =>
  (await readEvents(nc, { stream: env.streamName, subject: subject('dlq.trainer') })).some((e) => e.headers[HEADER_ORIGINAL_EVENT_ID] === id);
const consumerInfo = async (durable: string) => (await nc.jetstreamManager()).consumers.info(env.streamName, durable);

/** Resolves when `signal` aborts, rejects with its reason; resolves "timeout" after `ms` otherwise. */
const untilAborted = (signal: AbortSignal | undefined, ms: number): Promise<'timeout'> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });

describe('a consumer through outages', () => {
  it('waits out a transient failure that lasts longer than maxDeliver retries, then succeeds', async () => {
    const outageMs = 4000;
    let outageEnds = Number.POSITIVE_INFINITY;
    const deliveries: number[] = [];
    let deadLetters = 0;
    await using _c = await startConsumer(
      consumerOpts('outage', {
        handle: async (ev: ReceivedEvent, tx: pg.PoolClient) => {
          deliveries.push(ev.deliveryCount);
          if (outageEnds === Number.POSITIVE_INFINITY) outageEnds = Date.now() + outageMs;
          if (Date.now() < outageEnds) throw new UnavailableError('registry at 127.0.0.1:50056 is unavailable');
          await recordSeen(ev, tx);
        },
        onDeadLetter: async () => void deadLetters++,
      }),
    );
    const id = await publish(subject('outage.x'), { runId: 'run-o' });
    await waitFor(async () => (await seenCount(id)) === 1 || (await deadLettered(id)), { timeoutMs: 30_000, intervalMs: 200 });
    expect(await deadLettered(id)).toBe(false);
    expect(deadLetters).toBe(0);
    expect(await seenCount(id)).toBe(1);
    // More deliveries than maxDeliver (3) plus the old server-side headroom (3): none counted.
    expect(deliveries.length).toBeGreaterThan(6);
  });

  it('hands in-flight work back on stop() so another replica takes it at once, not after the ack wait', async () => {
    const startedBy: string[] = [];
    const handler = (who: string) => async (ev: ReceivedEvent, tx: pg.PoolClient, ctx?: { signal?: AbortSignal }) => {
      startedBy.push(who);
      if (who === 'a') await untilAborted(ctx?.signal, 20_000);
      await recordSeen(ev, tx, who);
    };
    const a = await startConsumer(consumerOpts('handback', { handle: handler('a') }));
    const id = await publish(subject('handback.x'));
    await waitFor(() => startedBy.length === 1);
    await using _b = await startConsumer(consumerOpts('handback', { handle: handler('b') }));
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    // ack wait is 30 s: only a hand-back (nak) lets b have it this soon.
    await waitFor(async () => (await seenCount(id)) === 1, { timeoutMs: 10_000 });
    expect((await pool.query('SELECT note FROM seen WHERE event_id = $1', [id])).rows).toEqual([{ note: 'b' }]);
  });

  it('runs long work outside a transaction, then commits its effects once', async () => {
    let workCalls = 0;
    let effectsCalls = 0;
    let checkedOutDuringWork = -1;
    // A pool of its own (no relay polling on it): what is checked out during the work is the consumer's.
    await using own = createPool({ url: env.pgUrl, schema: env.schema('trainer') });
    await using _c = await startConsumer(
      consumerOpts('work', {
        pool: own,
        relay: undefined,
        work: async (ev: ReceivedEvent) => {
          workCalls++;
          checkedOutDuringWork = own.totalCount - own.idleCount;
          if (workCalls === 1) throw new UnavailableError('S3 is down');
          return { note: `trained ${ev.id.slice(0, 4)}` };
        },
        effects: async (result: { note: string }, tx: pg.PoolClient, ctx: { ev: ReceivedEvent }) => {
          effectsCalls++;
          await recordSeen(ctx.ev, tx, result.note);
        },
      }),
    );
    const id = await publish(subject('work.x'));
    await waitFor(async () => (await seenCount(id)) === 1, { timeoutMs: 15_000 });
    expect(workCalls).toBe(2);
    expect(effectsCalls).toBe(1);
    expect(checkedOutDuringWork).toBe(0);
    await waitFor(async () => (await consumerInfo('trainer-work')).num_ack_pending === 0);
  });

  it('hands back work in progress on stop() (the work sees its signal abort)', async () => {
    const started: string[] = [];
    let aborted = 0;
    const opts = (who: string) =>
      consumerOpts('workback', {
        work: async (_ev: ReceivedEvent, ctx: { signal: AbortSignal }) => {
          started.push(who);
          if (who === 'a') {
            await untilAborted(ctx.signal, 20_000).catch((e: unknown) => {
              aborted++;
              throw e;
            });
          }
          return who;
        },
        effects: async (who: string, tx: pg.PoolClient, ctx: { ev: ReceivedEvent }) => recordSeen(ctx.ev, tx, who),
      });
    const a = await startConsumer(opts('a'));
    const id = await publish(subject('workback.x'));
    await waitFor(() => started.length === 1);
    await using _b = await startConsumer(opts('b'));
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(aborted).toBe(1);
    await waitFor(async () => (await seenCount(id)) === 1, { timeoutMs: 10_000 });
    expect((await pool.query('SELECT note FROM seen WHERE event_id = $1', [id])).rows).toEqual([{ note: 'b' }]);
  });

  it('takes several messages at once with concurrency', async () => {
    let inFlight = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    await using _c = await startConsumer(
      consumerOpts('conc', {
        concurrency: 3,
        work: async () => {
          inFlight++;
          most = Math.max(most, inFlight);
          await gate;
          inFlight--;
        },
        effects: async (_r: unknown, tx: pg.PoolClient, ctx: { ev: ReceivedEvent }) => recordSeen(ctx.ev, tx),
      }),
    );
    const ids = [await publish(subject('conc.x')), await publish(subject('conc.x')), await publish(subject('conc.x'))];
    await waitFor(() => inFlight === 3, { timeoutMs: 15_000, what: 'three messages in flight at once' });
    release();
    await waitFor(async () => (await Promise.all(ids.map(seenCount))).every((n) => n === 1));
    expect(most).toBe(3);
  });

  it('survives the backend of its transaction being terminated mid-handler, and handles the event once', async () => {
    let calls = 0;
    await using _c = await startConsumer(
      consumerOpts('pgkill', {
        handle: async (ev: ReceivedEvent, tx: pg.PoolClient) => {
          calls++;
          if (calls === 1) {
            const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
            await pool.query('SELECT pg_terminate_backend($1)', [pid]);
            await waitFor(async () => (await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0);
          }
          await recordSeen(ev, tx);
        },
      }),
    );
    const id = await publish(subject('pgkill.x'));
    await waitFor(async () => (await seenCount(id)) === 1, { timeoutMs: 15_000 });
    expect(calls).toBe(2);
    expect(await deadLettered(id)).toBe(false);
  });

  it('does not redo work whose effects were committed (a lost ack)', async () => {
    let workCalls = 0;
    const opts = consumerOpts('lostack', {
      ackWaitMs: 1000,
      work: async () => void workCalls++,
      effects: async (_r: unknown, tx: pg.PoolClient, ctx: { ev: ReceivedEvent }) => recordSeen(ctx.ev, tx),
    });
    await (await startConsumer(opts)).stop();
    const id = await publish(subject('lostack.x'));
    // A replica that committed the effects and died before its ack.
    const raw = await nc.jetstream().consumers.get(env.streamName, 'trainer-lostack');
    expect((await raw.next({ expires: 5000 }))?.headers?.get(HEADER_EVENT_ID)).toBe(id);
    await pool.query('INSERT INTO handled_events (consumer, event_id) VALUES ($1, $2)', ['trainer-lostack', id]);
    await using _c = await startConsumer(opts);
    await waitFor(async () => {
      const info = await consumerInfo('trainer-lostack');
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.consumer_seq >= 2;
    }, { timeoutMs: 15_000 });
    expect(workCalls).toBe(0);
  });

  it('gives up an event whose deliveries keep ending without an outcome (a crash each time)', async () => {
    let workCalls = 0;
    const dead: unknown[] = [];
    const opts = consumerOpts('crash', {
      ackWaitMs: 1000,
      maxDeliver: 2,
      work: async () => void workCalls++,
      effects: async () => undefined,
      onDeadLetter: async (_ev: ReceivedEvent, error: unknown) => void dead.push(error),
    });
    await (await startConsumer(opts)).stop();
    const id = await publish(subject('crash.x'));
    const raw = await nc.jetstream().consumers.get(env.streamName, 'trainer-crash');
    for (let delivery = 1; delivery <= 2; delivery++) {
      // A replica claims the event, starts working, and dies: no ack, no nak.
      const msg = await waitFor(async () => (await raw.next({ expires: 2000 })) ?? undefined, { timeoutMs: 10_000 });
      expect(msg.info.deliveryCount).toBe(delivery);
      await claimAttempt(pool, 'trainer-crash', id);
    }
    await using _c = await startConsumer(opts);
    await waitFor(() => deadLettered(id), { timeoutMs: 15_000 });
    expect(workCalls).toBe(0);
    expect(String(dead[0])).toMatch(/delivered 2 times without an outcome/);
  });

  it('hands back a handler that ignores the stop after stopWaitMs; the event is still handled once', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    const calls: string[] = [];
    const handler = (who: string) => async (ev: ReceivedEvent, tx: pg.PoolClient) => {
      calls.push(who);
      if (who === 'a') await slow;
      await recordSeen(ev, tx, who);
    };
    const a = await startConsumer(consumerOpts('ignore', { handle: handler('a'), stopWaitMs: 300 }));
    const id = await publish(subject('ignore.x'));
    await waitFor(() => calls.length === 1);
    await using _b = await startConsumer(consumerOpts('ignore', { handle: handler('b') }));
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    // Handed back: delivered again long before the 30 s ack wait (b then waits on a's open transaction).
    await waitFor(async () => (await consumerInfo('trainer-ignore')).delivered.consumer_seq >= 2, { timeoutMs: 10_000 });
    release();
    await waitFor(async () => (await consumerInfo('trainer-ignore')).num_ack_pending === 0 && (await seenCount(id)) === 1, { timeoutMs: 10_000 });
    expect(await seenCount(id)).toBe(1);
  });
});

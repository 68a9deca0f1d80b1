/**
 * Event consumers: a durable JetStream pull consumer shared by all replicas of a service, handling
 * one event at a time, exactly once per consumer thanks to the `handled_events` table written in
 * the handler's own transaction. Failures are retried with back-off, then dead-lettered.
 */
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import type pg from 'pg';
import { InvalidInputError, isPermanent, UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { withTransaction } from '../pg/pool.js';
import { recordDeadLetter, type DeadLetterHook } from './dead-letter.js';
import { ensureDurable } from './durable.js';
import { toReceivedEvent, type ReceivedEvent } from './received-event.js';
import type { Relay } from './relay.js';
import { backoffMs, createWaker } from './waker.js';

/** Options of {@link startConsumer}. */
export interface ConsumerOptions {
  /** NATS connection. */
  nc: NatsConnection;
  /** Pool of the service schema (holds `handled_events` and the outbox). */
  pool: pg.Pool;
  /** Logger; every outcome is logged with `runId` and `eventId`. */
  logger: Logger;
  /** Stream name (config.streamName). */
  stream: string;
  /** Durable consumer name, e.g. `trainer-run-requested`; also the `handled_events.consumer` key. */
  durable: string;
  /** Subject the consumer receives, e.g. `refit.run.requested` (one subject; `*`/`>` allowed). */
  filterSubject: string;
  /** Service name; dead letters go to `${subjectPrefix}.dlq.${source}`. */
  source: string;
  /** Subject prefix (config.subjectPrefix). */
  subjectPrefix: string;
  /** JetStream ack wait in ms (config.ackWaitMs); `working()` is sent every third of it. */
  ackWaitMs: number;
  /** Deliveries before a failing event is dead-lettered (config.maxDeliver). */
  maxDeliver: number;
  /** The service's relay, kicked after each commit so emitted events go out at once. */
  relay?: Relay;
  /** Handles one event inside the transaction `tx`; throw to roll back and retry (or dead-letter). */
  handle: (ev: ReceivedEvent, tx: pg.PoolClient) => Promise<void>;
  /** Runs in the dead-letter transaction, e.g. to enqueue a run.failed event. */
  onDeadLetter?: DeadLetterHook;
  /** Delay before redelivering after the n-th failed delivery (default min(1000·2^(n-1), 10000) ms). */
  retryDelayMs?: (deliveryCount: number) => number;
  /** How long one pull waits for a message in ms (default 5000; min 1000). Bounds idle stop latency on the server side. */
  pullExpiresMs?: number;
}

/** A running consumer. */
export interface Consumer {
  /** Stops taking work and waits for the event in flight to finish. */
  stop(): Promise<void>;
  /** Same as {@link Consumer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Extra server-side deliveries beyond `maxDeliver`: the consumer dead-letters at `maxDeliver`, and
 * these spare deliveries make sure that a crash during the last attempt, or a failed dead-letter
 * write, still ends in a recorded dead letter instead of an event JetStream silently stops sending.
 */
export const DEAD_LETTER_HEADROOM = 3;

/** Marks an error thrown by the service's onDeadLetter hook (as opposed to the database). */
class HookFailed extends Error {
  constructor(cause: unknown) {
    super('onDeadLetter failed', { cause });
  }
}

const defaultRetryDelay = (n: number): number => backoffMs(n, 1000, 10_000);

/** Starts a durable pull consumer (created or updated as needed) and returns once it is pulling. */
export async function startConsumer(opts: ConsumerOptions): Promise<Consumer> {
  const pullExpiresMs = opts.pullExpiresMs ?? 5000;
  // nats.js rejects shorter pulls on every fetch, which would turn into an endless retry loop.
  if (pullExpiresMs < 1000) throw new InvalidInputError(`pullExpiresMs must be at least 1000, got ${pullExpiresMs}`);
  if (!(opts.ackWaitMs >= 1000)) throw new InvalidInputError(`ackWaitMs must be at least 1000, got ${opts.ackWaitMs}`);
  if (!Number.isInteger(opts.maxDeliver) || opts.maxDeliver < 1) throw new InvalidInputError(`maxDeliver must be a positive integer, got ${opts.maxDeliver}`);
  await ensureDurable(opts.nc, {
    stream: opts.stream,
    durable: opts.durable,
    filterSubject: opts.filterSubject,
    ackWaitMs: opts.ackWaitMs,
    maxDeliver: opts.maxDeliver + DEAD_LETTER_HEADROOM,
  });
  const pullConsumer = await opts.nc.jetstream().consumers.get(opts.stream, opts.durable);
  const retryDelay = opts.retryDelayMs ?? defaultRetryDelay;
  const log = opts.logger.child({ consumer: opts.durable });
  const waker = createWaker();
  let stopping = false;
  let pulling: ConsumerMessages | undefined;

  const giveUp = async (msg: JsMsg, ev: ReceivedEvent, error: unknown, elog: Logger): Promise<void> => {
    const record = (hook?: DeadLetterHook): Promise<boolean> =>
      recordDeadLetter({ pool: opts.pool, consumer: opts.durable, subjectPrefix: opts.subjectPrefix, source: opts.source, ev, error, hook });
    const hook = opts.onDeadLetter;
    try {
      let recorded: boolean;
      try {
        recorded = await record(
          hook &&
            (async (e, err, tx) => {
              try {
                await hook(e, err, tx);
              } catch (hookErr) {
                throw new HookFailed(hookErr);
              }
            }),
        );
      } catch (err) {
        if (!(err instanceof HookFailed)) throw err;
        // The service's hook failed: still record the dead letter so the event is not stranded.
        elog.error({ err: err.cause }, 'onDeadLetter failed; dead-lettering without it');
        recorded = await record();
      }
      msg.term();
      opts.relay?.kick();
      if (recorded) elog.error({ err: error }, 'event dead-lettered');
      else elog.info('event already handled; dropped failed redelivery');
    } catch (dlqErr) {
      const delay = retryDelay(ev.deliveryCount);
      msg.nak(delay);
      elog.error({ err: error, dlqErr, retryInMs: delay }, 'could not dead-letter event; will retry');
    }
  };

  const processMessage = async (msg: JsMsg): Promise<void> => {
    const ev = toReceivedEvent(msg);
    const elog = log.child({ runId: ev.runId, eventId: ev.id, eventType: ev.type, subject: ev.subject, delivery: ev.deliveryCount });
    // Tell JetStream we are still on it, so long work (training) is not redelivered elsewhere.
    const heartbeat = setInterval(() => msg.working(), Math.max(100, Math.floor(opts.ackWaitMs / 3)));
    const started = Date.now();
    try {
      if (ev.deliveryCount > opts.maxDeliver) {
        // Earlier attempts ended without an outcome (crash, lost ack): do not try again.
        await giveUp(msg, ev, new UnavailableError(`event ${ev.id} exceeded ${opts.maxDeliver} deliveries`), elog);
        return;
      }
      let outcome: 'handled' | 'duplicate';
      try {
        outcome = await withTransaction(opts.pool, async (tx) => {
          // Concurrent deliveries of one event block here until the first commits or rolls back.
          const { rowCount } = await tx.query(
            'INSERT INTO handled_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
            [opts.durable, ev.id],
          );
          if (rowCount === 0) return 'duplicate';
          await opts.handle(ev, tx);
          return 'handled';
        });
      } catch (err) {
        if (isPermanent(err) || ev.deliveryCount >= opts.maxDeliver) {
          await giveUp(msg, ev, err, elog);
        } else {
          const delay = retryDelay(ev.deliveryCount);
          msg.nak(delay);
          elog.warn({ err, retryInMs: delay }, 'event handling failed; will retry');
        }
        return;
      }
      msg.ack();
      if (outcome === 'handled') {
        opts.relay?.kick();
        elog.info({ ms: Date.now() - started }, 'event handled');
      } else {
        elog.info('event already handled; acknowledged redelivery');
      }
    } finally {
      clearInterval(heartbeat);
    }
  };

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      let msg: JsMsg | undefined;
      try {
        // One message per pull: nothing waits in a local buffer while its ack timer runs.
        const batch = await pullConsumer.fetch({ max_messages: 1, expires: pullExpiresMs });
        pulling = batch;
        if (stopping) batch.stop();
        for await (const m of batch) {
          msg = m;
          break;
        }
        failures = 0;
      } catch (err) {
        failures++;
        const delay = backoffMs(failures, 500, 5000);
        log.warn({ err, retryInMs: delay }, 'pulling events failed; will retry');
        await waker.sleep(delay);
        continue;
      } finally {
        pulling = undefined;
      }
      if (msg) await processMessage(msg);
    }
  };

  const running = loop().catch((err: unknown) => log.error({ err }, 'consumer loop crashed'));
  log.info({ stream: opts.stream, filterSubject: opts.filterSubject }, 'consumer started');

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      pulling?.stop();
      waker.wake();
      await running;
      log.info('consumer stopped');
    })();
    return stopped;
  };
  return { stop, [Symbol.asyncDispose]: stop };
}

/**
 * Event consumers: a durable JetStream pull consumer shared by all replicas of a service, exactly
 * once per consumer thanks to the `handled_events` table written in the same transaction as the
 * effects. Two shapes: `handle(ev, tx)` for short handlers (the whole handling is one
 * transaction), and `work(ev)` then `effects(result, tx)` for long work (training, S3 I/O,
 * scoring), done outside any transaction before a short one records its effects. Transient
 * failures are waited out (see retry-policy.ts), other failures retried a few times, then
 * dead-lettered; on stop, work in progress is handed back at once.
 */
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import type pg from 'pg';
import { InvalidInputError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeliveryObserver } from '../metrics/observers.js';
import type { Tracing } from '../tracing/tracing.js';
import type { DeadLetterHook } from './dead-letter.js';
import { deliver, type Delivery, type DeliveryContext, type EffectsContext } from './delivery.js';
import { ensureDurable } from './durable.js';
import { observeDelivery } from './observed-msg.js';
import type { ReceivedEvent } from './received-event.js';
import type { Relay } from './relay.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
import type { EventVerifier } from './signing.js';
import { backoffMs, createWaker } from './waker.js';

export type { DeliveryContext, EffectsContext } from './delivery.js';

/** Options of {@link startConsumer}; give either `handle`, or `work` and `effects`. */
export interface ConsumerOptions<R = unknown> {
  /** NATS connection. */
  nc: NatsConnection;
  /** Pool of the service schema (holds `handled_events`, `consumer_attempts` and the outbox). */
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
  /**
   * Failures of unknown kind (neither transient nor permanent) before an event is dead-lettered,
   * and deliveries that ended with no outcome at all (crashes) before it is given up
   * (config.maxDeliver). Transient failures never count: they have {@link RetryPolicy.horizonMs}.
   */
  maxDeliver: number;
  /** The service's relay, kicked after each commit so emitted events go out at once. */
  relay?: Relay;
  /**
   * Short handler: handles one event inside the transaction `tx` that also records it handled;
   * throw to roll back and retry (or dead-letter). Never do long work here: use `work`/`effects`.
   */
  handle?: (ev: ReceivedEvent, tx: pg.PoolClient, ctx: DeliveryContext) => Promise<void>;
  /**
   * Long work, outside any transaction (claim, work, then a short transaction for the effects).
   * Its result goes to `effects`. Interrupted work (a crash, a hand-back, a failure) simply runs
   * again on the next delivery, so it must not have effects of its own that a redo would double
   * (write-once artifacts under fresh or content-addressed keys are fine).
   */
  work?: (ev: ReceivedEvent, ctx: DeliveryContext) => Promise<R>;
  /** Writes the effects of `work` (state, outgoing events) in a short transaction that also records the event handled. */
  effects?: (result: R, tx: pg.PoolClient, ctx: EffectsContext) => Promise<void>;
  /**
   * Which events this consumer handles (default: all it receives). The others are acknowledged at
   * once without a transaction: a consumer of every subject pays nothing for the events that are
   * not its concern (a training.progress beat each epoch).
   */
  accept?: (ev: ReceivedEvent) => boolean;
  /** A durable this one was split from: created after its acknowledged position (see DurableSpec.takeOverFrom). */
  takeOverFrom?: string;
  /** Messages processed at once by this process, each independently (default 1). */
  concurrency?: number;
  /** Back-off and horizon of retries (default {@link DEFAULT_RETRY_POLICY}; services pass BaseConfig's). */
  retry?: Partial<RetryPolicy>;
  /** Runs in the dead-letter transaction, e.g. to enqueue a run.failed event. */
  onDeadLetter?: DeadLetterHook;
  /** @deprecated use {@link ConsumerOptions.retry}. Fixed delay before retry n, overriding the back-off. */
  retryDelayMs?: (deliveryCount: number) => number;
  /** How long one pull waits for a message in ms (default 5000; min 1000). Bounds idle stop latency on the server side. */
  pullExpiresMs?: number;
  /**
   * How long stop() waits for deliveries in flight once their signal aborted, in ms (default
   * 5000). A `handle` still running then is handed back too (its transaction rolls back when the
   * process exits, or commits and the redelivery finds it handled) and left behind.
   */
  stopWaitMs?: number;
  /**
   * Checks each event's origin first (signature, allowed publisher). A refused event is logged
   * and dropped: not handled, not dead-lettered (its run id, event id and content are the
   * sender's invention) and not recorded as handled (which would let a forger pre-empt a real
   * event's id). Default: every event is trusted (development).
   */
  verifier?: EventVerifier;
  /** Handles each wanted event in a CONSUMER span, child of the publisher's (`traceparent`). Default: no spans. */
  tracing?: Tracing;
  /** Told of each delivery, ack, nak, dead letter and handling time (metrics). Default: none. */
  observer?: DeliveryObserver;
}

/** A running consumer. */
export interface Consumer {
  /**
   * Stops taking work: hands `work` in progress back at once (nak without delay, its signal
   * aborted) so another replica takes it within seconds instead of after the ack wait; lets a
   * `handle` in flight finish for up to `stopWaitMs` (its signal aborted too: one that gives up is
   * handed back), then hands it back as well.
   */
  stop(): Promise<void>;
  /** Same as {@link Consumer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * @deprecated Deliveries are no longer limited on the server (transient failures may take many):
 * the consumer counts failures and crashes itself in `consumer_attempts`.
 */
export const DEAD_LETTER_HEADROOM = 3;

const validate = (opts: ConsumerOptions<unknown>, pullExpiresMs: number, concurrency: number): void => {
  // nats.js rejects shorter pulls on every fetch, which would turn into an endless retry loop.
  if (pullExpiresMs < 1000) throw new InvalidInputError(`pullExpiresMs must be at least 1000, got ${pullExpiresMs}`);
  if (!(opts.ackWaitMs >= 1000)) throw new InvalidInputError(`ackWaitMs must be at least 1000, got ${opts.ackWaitMs}`);
  if (!Number.isInteger(opts.maxDeliver) || opts.maxDeliver < 1) throw new InvalidInputError(`maxDeliver must be a positive integer, got ${opts.maxDeliver}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new InvalidInputError(`concurrency must be an integer 1-256, got ${concurrency}`);
  const shapes = [opts.handle !== undefined, opts.work !== undefined || opts.effects !== undefined];
  if (shapes[0] === shapes[1] || (shapes[1] && (!opts.work || !opts.effects))) {
    throw new InvalidInputError(`consumer ${opts.durable}: give either handle, or both work and effects`);
  }
};

/** Starts a durable pull consumer (created or updated as needed) and returns once it is pulling. */
export async function startConsumer<R>(opts: ConsumerOptions<R>): Promise<Consumer> {
  const pullExpiresMs = opts.pullExpiresMs ?? 5000;
  const concurrency = opts.concurrency ?? 1;
  validate(opts as ConsumerOptions<unknown>, pullExpiresMs, concurrency);
  await ensureDurable(opts.nc, {
    stream: opts.stream,
    durable: opts.durable,
    filterSubject: opts.filterSubject,
    ackWaitMs: opts.ackWaitMs,
    // Unlimited on the server: a transient outage may take many deliveries, and the consumer
    // itself gives up on failures and crashes (consumer_attempts), always with a dead letter.
    maxDeliver: -1,
    takeOverFrom: opts.takeOverFrom,
  });
  const pullConsumer = await opts.nc.jetstream().consumers.get(opts.stream, opts.durable);
  const log = opts.logger.child({ consumer: opts.durable });
  const waker = createWaker();
  const deliveries = new Set<Delivery>();
  let stopping = false;
  let pulling: ConsumerMessages | undefined;
  let wakeLoop: () => void = () => undefined;

  const spec = {
    ...opts,
    handle: opts.handle,
    work: opts.work as ((ev: ReceivedEvent, ctx: DeliveryContext) => Promise<unknown>) | undefined,
    effects: opts.effects as ((result: unknown, tx: pg.PoolClient, ctx: EffectsContext) => Promise<void>) | undefined,
    policy: { ...DEFAULT_RETRY_POLICY, ...opts.retry },
    delayOverride: opts.retryDelayMs,
  };
  const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  const deliveryCtx = {
    log,
    stopping: () => stopping,
    track: (d: Delivery) => {
      deliveries.add(d);
      return () => {
        deliveries.delete(d);
        wakeLoop();
      };
    },
    sleep,
  };

  const start = (msg: JsMsg): void => {
    if (stopping) {
      // Arrived as we stopped: hand it back untouched.
      try {
        msg.nak();
      } catch (err) {
        log.debug({ err }, 'could not hand back a message that arrived while stopping');
      }
      return;
    }
    if (!opts.observer) {
      void deliver(spec, msg, deliveryCtx);
      return;
    }
    const observed = observeDelivery(msg, opts.observer);
    observed.settled(deliver(spec, observed.msg, deliveryCtx));
  };

  /** Resolves when a slot frees up or the consumer stops. */
  const slotFree = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wakeLoop = resolve;
      if (stopping || deliveries.size < concurrency) resolve();
    });

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      if (deliveries.size >= concurrency) {
        await slotFree();
        continue;
      }
      try {
        // At most as many messages as free slots: nothing waits in a local buffer while its ack timer runs.
        const batch = await pullConsumer.fetch({ max_messages: concurrency - deliveries.size, expires: pullExpiresMs });
        pulling = batch;
        if (stopping) batch.stop();
        for await (const m of batch) start(m);
        failures = 0;
      } catch (err) {
        failures++;
        const delay = backoffMs(failures, 500, 5000);
        log.warn({ err, retryInMs: delay }, 'pulling events failed; will retry');
        await waker.sleep(delay);
      } finally {
        pulling = undefined;
      }
    }
  };

  const running = loop().catch((err: unknown) => log.error({ err }, 'consumer loop crashed'));
  log.info({ stream: opts.stream, filterSubject: opts.filterSubject, concurrency }, 'consumer started');

  const stopWaitMs = opts.stopWaitMs ?? 5000;
  /** Waits for `d` at most `stopWaitMs`; what still runs then is handed back and left behind. */
  const settled = async (d: Delivery): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([d.done.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), stopWaitMs)))]);
    clearTimeout(timer);
    if (late && !d.handedBack) {
      // Safe even if it commits after all: the redelivery then finds it in handled_events.
      log.warn({ phase: d.phase, stopWaitMs }, 'a handler did not finish after the stop; handing its event back');
      d.handBack();
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      pulling?.stop();
      waker.wake();
      wakeLoop();
      for (const d of deliveries) {
        // Work outside a transaction goes back at once; a transaction in flight may still finish.
        if (d.phase === 'work' || d.phase === 'claim' || d.phase === 'start') d.handBack();
        d.abort.abort(new Error(`consumer ${opts.durable} is stopping`));
      }
      await running;
      await Promise.all([...deliveries].map(settled));
      log.info('consumer stopped');
    })();
    return stopped;
  };
  return { stop, [Symbol.asyncDispose]: stop };
}

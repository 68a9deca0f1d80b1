/**
 * A durable consumer that takes events in batches: for events that are many, small and cheap to
 * take in (a flood of external requests), where one transaction and one pull per event would be
 * the cost of the whole thing. Up to `maxBatch` messages are buffered for at most `lingerMs`, then
 * handed to one handler in one transaction; on commit they are all acknowledged. Each event is
 * recorded in `handled_events` in that transaction, as {@link startConsumer} does, and the handler
 * gets only those not handled before: a batch that fails is handed back (nak with the retry
 * back-off) and its events come again, and none is taken twice. Events that fail the origin check
 * are terminated, as in {@link startConsumer}.
 */
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import type pg from 'pg';
import { InvalidInputError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeliveryObserver } from '../metrics/observers.js';
import { withTransaction } from '../pg/pool.js';
import { batchSpanOptions } from '../tracing/propagation.js';
import type { Tracing } from '../tracing/tracing.js';
import { ensureDurable } from './durable.js';
import { refusedOrigin, runAfterCommit } from './delivery.js';
import { toReceivedEvent, type ReceivedEvent } from './received-event.js';
import type { Relay } from './relay.js';
import { DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from './retry-policy.js';
import type { EventVerifier } from './signing.js';

/** Options of {@link startBatchConsumer}. */
export interface BatchConsumerOptions {
  nc: NatsConnection;
  pool: pg.Pool;
  logger: Logger;
  stream: string;
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  /** Most events in one batch (default 500). */
  maxBatch?: number;
  /** How long the first event of a batch waits for others, ms (default 20). */
  lingerMs?: number;
  /** Takes a batch (events not handled before, each once) in one transaction; throw to hand the whole batch back. */
  handle: (events: ReceivedEvent[], tx: pg.PoolClient, ctx: { afterCommit: (fn: () => void) => void }) => Promise<void>;
  relay?: Relay;
  verifier?: EventVerifier;
  /**
   * Handles each batch in a CONSUMER span: the child of its event's publisher when it holds one
   * event, otherwise linked to every event's publisher. Default: no spans.
   */
  tracing?: Tracing;
  retry?: Partial<RetryPolicy>;
  /** A durable this one was split from (see DurableSpec.takeOverFrom). */
  takeOverFrom?: string;
  /** Told of each delivery, ack and nak, and each batch's handling time (metrics). Default: none. */
  observer?: DeliveryObserver;
}

/** A running batch consumer. */
export interface BatchConsumer {
  /** Stops pulling, lets the batch in hand finish (or hands it back), and returns. */
  stop(): Promise<void>;
}

/** Starts a batch consumer (the durable is created or updated as needed). */
export async function startBatchConsumer(opts: BatchConsumerOptions): Promise<BatchConsumer> {
  const maxBatch = opts.maxBatch ?? 500;
  const lingerMs = opts.lingerMs ?? 20;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 10_000) throw new InvalidInputError(`maxBatch must be an integer 1-10000, got ${maxBatch}`);
  const policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
  // Unlimited deliveries on the server: a failing batch is retried with back-off, as events are.
  await ensureDurable(opts.nc, { stream: opts.stream, durable: opts.durable, filterSubject: opts.filterSubject, ackWaitMs: opts.ackWaitMs, maxDeliver: -1, takeOverFrom: opts.takeOverFrom });
  const consumer = await opts.nc.jetstream().consumers.get(opts.stream, opts.durable);
  const log = opts.logger.child({ consumer: opts.durable });
  let pending: JsMsg[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  // Messages handed to a batch not yet settled: at most two batches wait, so no ack timer runs out.
  let inFlight = 0;
  let failures = 0;
  let stopped = false;

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const msgs = pending;
    pending = [];
    if (msgs.length === 0) return;
    inFlight += msgs.length;
    flushing = flushing.then(() => take(msgs)).finally(() => {
      inFlight -= msgs.length;
    });
  };

  const take = async (msgs: JsMsg[]): Promise<void> => {
    const events: ReceivedEvent[] = [];
    const accepted: JsMsg[] = [];
    for (const m of msgs) {
      const ev = toReceivedEvent(m);
      if (refusedOrigin(opts.verifier, ev, m, log)) continue;
      events.push(ev);
      accepted.push(m);
    }
    if (events.length === 0) return;
    const started = performance.now();
    const after: Array<() => void> = [];
    try {
      const handle = (): Promise<void> =>
        withTransaction(opts.pool, async (tx) => {
          // Each event once, whatever redelivers it: recorded handled with the batch's effects.
          const fresh = await tx.query<{ event_id: string }>(
            'INSERT INTO handled_events (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id',
            [opts.durable, events.map((e) => e.id)],
          );
          const todo = new Set(fresh.rows.map((r) => r.event_id));
          // One event of each id: a batch may hold a redelivery beside its first delivery.
          const once = events.filter((e) => todo.delete(e.id));
          if (once.length > 0) await opts.handle(once, tx, { afterCommit: (fn) => void after.push(fn) });
        });
      await (opts.tracing?.enabled ? opts.tracing.inSpan(`process ${opts.filterSubject}`, batchSpanOptions(opts.durable, events), handle) : handle());
    } catch (err) {
      failures++;
      const ms = retryDelayMs(policy, failures);
      log.warn({ err, events: events.length, retryInMs: ms }, 'a batch of events failed; handed back for a retry');
      for (const m of accepted) m.nak(ms);
      accepted.forEach(() => opts.observer?.naked());
      opts.observer?.handled((performance.now() - started) / 1000);
      return;
    }
    failures = 0;
    for (const m of accepted) m.ack();
    accepted.forEach(() => opts.observer?.acked());
    opts.observer?.handled((performance.now() - started) / 1000);
    runAfterCommit(after, log);
    opts.relay?.kick();
    log.debug({ events: events.length }, 'batch of events handled');
  };

  // Buffered messages only as many as one batch holds: nothing waits long while its ack timer runs.
  const messages: ConsumerMessages = await consumer.consume({ max_messages: maxBatch });
  const loop = (async () => {
    for await (const m of messages) {
      if (stopped) {
        m.nak();
        continue;
      }
      opts.observer?.delivered(m.info.redelivered);
      pending.push(m);
      if (pending.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, lingerMs);
      if (inFlight >= 2 * maxBatch) await flushing;
    }
  })().catch((err: unknown) => log.error({ err }, 'batch consumer loop crashed'));
  log.info({ stream: opts.stream, filterSubject: opts.filterSubject, maxBatch, lingerMs }, 'batch consumer started');

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await messages.close();
      await loop;
      flush();
      await flushing;
    },
  };
}

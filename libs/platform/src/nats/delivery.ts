/**
 * One delivery of one event to a consumer: claim it, do the work, commit the effects with the
 * handled mark, ack — or, when it fails, retry it (transient failures waited out until the
 * horizon), dead-letter it, or hand it back unfinished when the consumer stops.
 */
import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import type { JsMsg } from 'nats';
import type pg from 'pg';
import { UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeliveryObserver } from '../metrics/observers.js';
import { withTransaction } from '../pg/pool.js';
import { extractTraceContext } from '../tracing/propagation.js';
import { markFailed, type Tracing } from '../tracing/tracing.js';
import { isTransient } from '../transient.js';
import { claimAttempt, clearAttempts, recordFailure, recordHandBack } from './attempts.js';
import { errorText, recordDeadLetter, type DeadLetterHook } from './dead-letter.js';
import { toReceivedEvent, type ReceivedEvent } from './received-event.js';
import type { Relay } from './relay.js';
import { classifyFailure, decideRetry, retryDelayMs, type RetryPolicy } from './retry-policy.js';
import type { EventVerifier } from './signing.js';

/**
 * Terminates an event whose origin the verifier does not accept (a forged or unsigned event):
 * true when it was refused, and then logged with the reason.
 */
export function refusedOrigin(verifier: EventVerifier | undefined, ev: ReceivedEvent, msg: JsMsg, log: Logger): boolean {
  const refused = verifier?.problem(ev);
  if (refused === undefined) return false;
  try {
    msg.term();
  } catch (err) {
    log.warn({ err }, 'could not terminate the message');
  }
  log.error({ eventId: ev.id, source: ev.source, refused }, `refused an event that does not prove its origin: ${refused}`);
  return true;
}

/** Runs the in-memory effects of a committed transaction; one that throws is logged and the others still run. */
export function runAfterCommit(effects: ReadonlyArray<() => void>, log: Logger): void {
  for (const fn of effects) {
    try {
      fn();
    } catch (err) {
      log.error({ err }, 'an after-commit effect failed');
    }
  }
}

/** What a handler, a work or effects get besides the event. */
export interface DeliveryContext {
  /**
   * Aborted when the consumer stops. Long work should give up soon after (throw): the event is
   * then handed back at once (nak) so that another replica takes it.
   */
  signal: AbortSignal;
  /**
   * Runs `fn` once the transaction of this handling has committed (never when it rolls back or
   * the event was a duplicate): for in-memory effects that must follow the database, never lead
   * it. Errors are logged. Only meaningful in `handle` and `effects`.
   */
  afterCommit: (fn: () => void) => void;
}

/** What `effects` gets besides the result and the transaction. */
export interface EffectsContext extends DeliveryContext {
  /** The event the work was done for. */
  ev: ReceivedEvent;
}

/** How one consumer processes its events (the parts of ConsumerOptions a delivery needs). */
export interface DeliverySpec {
  pool: pg.Pool;
  durable: string;
  source: string;
  subjectPrefix: string;
  ackWaitMs: number;
  maxDeliver: number;
  relay?: Relay;
  verifier?: EventVerifier;
  onDeadLetter?: DeadLetterHook;
  handle?: (ev: ReceivedEvent, tx: pg.PoolClient, ctx: DeliveryContext) => Promise<void>;
  work?: (ev: ReceivedEvent, ctx: DeliveryContext) => Promise<unknown>;
  effects?: (result: unknown, tx: pg.PoolClient, ctx: EffectsContext) => Promise<void>;
  /** Events it does not want are acknowledged at once, without a transaction (see ConsumerOptions.accept). */
  accept?: (ev: ReceivedEvent) => boolean;
  /** Each wanted event is handled in a CONSUMER span, child of the publisher's (`traceparent`). */
  tracing?: Tracing;
  policy: RetryPolicy;
  /** Overrides the back-off (the older `retryDelayMs` option). */
  delayOverride?: (retry: number) => number;
  /** Told of each dead letter (metrics). */
  observer?: Pick<DeliveryObserver, 'deadLettered'>;
}

/** A delivery in progress, as the consumer's stop() sees it. */
export interface Delivery {
  readonly abort: AbortController;
  phase: 'start' | 'claim' | 'handle' | 'work' | 'effects';
  handedBack: boolean;
  done: Promise<void>;
  /** Naks the message at once (no delay) and records the hand-back; idempotent. */
  handBack(): void;
}

/** Marks an error thrown by the service's onDeadLetter hook (as opposed to the database). */
class HookFailed extends Error {
  constructor(cause: unknown) {
    super('onDeadLetter failed', { cause });
  }
}

/** Never throws: acks and naks on a closed connection must not end a delivery abnormally. */
const safely = (log: Logger, what: string, fn: () => void): void => {
  try {
    fn();
  } catch (err) {
    log.warn({ err }, `could not ${what} the message`);
  }
};

/** OpenTelemetry messaging attributes of a delivery's span. */
function consumerSpanAttributes(durable: string, ev: ReceivedEvent): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.destination.name': ev.subject,
    'messaging.consumer.group.name': durable,
    'messaging.message.id': ev.id,
    'messaging.nats.delivery_count': ev.deliveryCount,
    ...(ev.runId ? { 'refit.run_id': ev.runId } : {}),
  };
}

/** Processes `msg`; never rejects. `track` registers the delivery with the consumer while it runs. */
export function deliver(spec: DeliverySpec, msg: JsMsg, ctx: { log: Logger; stopping: () => boolean; track: (d: Delivery) => () => void; sleep: (ms: number, signal: AbortSignal) => Promise<void> }): Promise<void> {
  const ev = toReceivedEvent(msg);
  // Decided up front so that unwanted events get no span; a throwing `accept` fails the delivery in run().
  let acceptFailed: { err: unknown } | undefined;
  let accepted = true;
  try {
    accepted = !spec.accept || spec.accept(ev);
  } catch (err) {
    acceptFailed = { err };
  }
  const elog = ctx.log.child({ runId: ev.runId, eventId: ev.id, eventType: ev.type, subject: ev.subject, delivery: ev.deliveryCount });
  const delay = (retry: number): number => spec.delayOverride?.(retry) ?? retryDelayMs(spec.policy, retry);
  let claimed = false;

  const d: Delivery = {
    abort: new AbortController(),
    phase: 'start',
    handedBack: false,
    done: Promise.resolve(),
    handBack() {
      if (d.handedBack) return;
      d.handedBack = true;
      safely(elog, 'hand back', () => msg.nak());
      elog.info({ phase: d.phase }, 'consumer stopping: handed the event back');
      recordHandBack(spec.pool, { consumer: spec.durable, eventId: ev.id, claimed }).catch((err: unknown) => elog.debug({ err }, 'could not record the hand-back'));
    },
  };
  const signal = d.abort.signal;

  const giveUp = async (error: unknown): Promise<void> => {
    const record = (hook?: DeadLetterHook): Promise<boolean> =>
      recordDeadLetter({ pool: spec.pool, consumer: spec.durable, subjectPrefix: spec.subjectPrefix, source: spec.source, ev, error, hook });
    const hook = spec.onDeadLetter;
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
      safely(elog, 'terminate', () => msg.term());
      spec.relay?.kick();
      if (recorded) spec.observer?.deadLettered();
      if (recorded) elog.error({ err: error }, 'event dead-lettered');
      else elog.info('event already handled; dropped failed redelivery');
    } catch (dlqErr) {
      const ms = delay(ev.deliveryCount);
      safely(elog, 'nak', () => msg.nak(ms));
      elog.error({ err: error, dlqErr, retryInMs: ms }, 'could not dead-letter event; will retry');
    }
  };

  const failed = async (err: unknown): Promise<void> => {
    const kind = classifyFailure(err);
    if (kind === 'permanent') return giveUp(err);
    let history;
    try {
      const row = await recordFailure(spec.pool, { consumer: spec.durable, eventId: ev.id, claimed, counted: kind === 'unknown', error: errorText(err) });
      history = { failures: row.failures, retries: row.outcomes, failingMs: row.failingMs };
    } catch (dbErr) {
      // The database itself is down: nothing can be decided or recorded, so wait and see.
      const ms = delay(ev.deliveryCount);
      safely(elog, 'nak', () => msg.nak(ms));
      elog.warn({ err, dbErr, retryInMs: ms }, 'event handling failed and the failure could not be recorded; will retry');
      return;
    }
    const decision = decideRetry({ error: err, kind, history, maxDeliver: spec.maxDeliver, policy: spec.policy });
    if (decision.action === 'dead-letter') return giveUp(decision.reason);
    const ms = spec.delayOverride?.(history.retries) ?? decision.delayMs;
    safely(elog, 'nak', () => msg.nak(ms));
    elog.warn({ err, kind, retry: history.retries, failingMs: history.failingMs, retryInMs: ms }, kind === 'transient' ? 'event handling failed transiently; will retry' : 'event handling failed; will retry');
  };

  /** The short transaction that records the event handled, with `write` as its effects. */
  let committed: Array<() => void> = [];
  const afterCommit = (fn: () => void): void => void committed.push(fn);
  const commit = async (write: (tx: pg.PoolClient) => Promise<void>): Promise<'handled' | 'duplicate'> => {
    committed = [];
    const outcome = await withTransaction(spec.pool, async (tx): Promise<'handled' | 'duplicate'> => {
      // Concurrent deliveries of one event block here until the first commits or rolls back.
      const { rowCount } = await tx.query('INSERT INTO handled_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [spec.durable, ev.id]);
      if (rowCount === 0) return 'duplicate';
      if (claimed || ev.deliveryCount > 1) await clearAttempts(tx, spec.durable, ev.id);
      await write(tx);
      return 'handled';
    });
    if (outcome === 'handled') runAfterCommit(committed, elog);
    committed = [];
    return outcome;
  };

  /** Commits the effects of finished work, retrying in place while the database is unavailable. */
  const commitEffects = async (result: unknown): Promise<'handled' | 'duplicate'> => {
    const effects = spec.effects as NonNullable<DeliverySpec['effects']>;
    const first = Date.now();
    for (let retry = 1; ; retry++) {
      try {
        return await commit((tx) => effects(result, tx, { ev, signal, afterCommit }));
      } catch (err) {
        // Redoing long work for a database blip would waste it: wait here while we may.
        if (!isTransient(err) || signal.aborted || Date.now() - first >= spec.policy.horizonMs) throw err;
        const ms = delay(retry);
        elog.warn({ err, retryInMs: ms }, 'committing the effects failed transiently; retrying them');
        await ctx.sleep(ms, signal);
      }
    }
  };

  const run = async (): Promise<void> => {
    const started = Date.now();
    if (refusedOrigin(spec.verifier, ev, msg, elog)) return;
    if (acceptFailed) throw acceptFailed.err;
    if (!accepted) {
      safely(elog, 'ack', () => msg.ack());
      return;
    }
    // A first delivery of a short handler needs no claim: its transaction is the claim.
    if (spec.work || ev.deliveryCount > 1) {
      d.phase = 'claim';
      const claim = await claimAttempt(spec.pool, spec.durable, ev.id);
      claimed = true;
      if (d.handedBack) return;
      if (claim.handled) {
        safely(elog, 'ack', () => msg.ack());
        elog.info('event already handled; acknowledged redelivery');
        return;
      }
      const unexplained = claim.row.attempts - 1 - claim.row.outcomes;
      if (unexplained >= spec.maxDeliver) {
        await giveUp(new UnavailableError(`event ${ev.id} was delivered ${unexplained} times without an outcome (the process handling it stopped each time)`));
        return;
      }
    }
    let outcome: 'handled' | 'duplicate';
    if (spec.handle) {
      const handle = spec.handle;
      d.phase = 'handle';
      outcome = await commit((tx) => handle(ev, tx, { signal, afterCommit }));
    } else {
      d.phase = 'work';
      const result = await (spec.work as NonNullable<DeliverySpec['work']>)(ev, { signal, afterCommit: () => undefined });
      if (d.handedBack) return;
      d.phase = 'effects';
      outcome = await commitEffects(result);
    }
    safely(elog, 'ack', () => msg.ack());
    if (outcome === 'handled') {
      spec.relay?.kick();
      elog.info({ ms: Date.now() - started }, 'event handled');
    } else {
      elog.info('event already handled; acknowledged redelivery');
    }
  };

  // Tell JetStream we are still on it, so long work (training) is not redelivered elsewhere.
  const heartbeat = setInterval(() => {
    if (!d.handedBack) safely(elog, 'extend', () => msg.working());
  }, Math.max(100, Math.floor(spec.ackWaitMs / 3)));
  const untrack = ctx.track(d);
  const traced = (fn: (span?: Span) => Promise<void>): Promise<void> =>
    spec.tracing?.enabled && accepted
      ? spec.tracing.inSpan(`process ${ev.subject}`, { kind: SpanKind.CONSUMER, parent: extractTraceContext(ev.headers), attributes: consumerSpanAttributes(spec.durable, ev) }, fn)
      : fn();
  d.done = traced(async (span) => {
    try {
      await run();
    } catch (err) {
      markFailed(span, err);
      if (d.handedBack) {
        elog.debug({ err }, 'handed-back work ended');
        return;
      }
      if (signal.aborted && ctx.stopping()) {
        d.handBack();
        return;
      }
      await failed(err);
    }
  })
    .catch((err: unknown) => elog.error({ err }, 'processing an event failed unexpectedly'))
    .finally(() => {
      clearInterval(heartbeat);
      untrack();
    });
  return d.done;
}

/** Declaring the durable pull consumer a service's replicas share. */
import { AckPolicy, DeliverPolicy, nanos } from 'nats';
import type { ConsumerConfig, NatsConnection } from 'nats';
import { FailedPreconditionError, InvalidInputError } from '../errors.js';
import { JS_ERR, jsErrCode, natsFailure } from './nats-errors.js';

/** What the durable consumer must look like. */
export interface DurableSpec {
  /** Stream name. */
  stream: string;
  /** Durable name (letters, digits, `_`, `-`). */
  durable: string;
  /** The one subject (wildcards allowed) it receives. */
  filterSubject: string;
  /** Ack wait in ms. */
  ackWaitMs: number;
  /** Server-side delivery limit. */
  maxDeliver: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;
const FILTER = /^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/;

/**
 * Creates the durable pull consumer, or updates ack wait and delivery limit when it exists.
 *
 * @throws FailedPreconditionError when the stream is missing or the existing consumer filters a
 *   different subject (NATS 2.9 cannot change a filter in place: use a new durable name).
 */
export async function ensureDurable(nc: NatsConnection, spec: DurableSpec): Promise<void> {
  if (!NAME.test(spec.durable)) throw new InvalidInputError(`invalid durable name ${JSON.stringify(spec.durable)}`);
  if (!FILTER.test(spec.filterSubject)) throw new InvalidInputError(`invalid filter subject ${JSON.stringify(spec.filterSubject)}`);
  const where = `consumer ${spec.durable} on stream ${spec.stream}`;
  const want: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver,
    filter_subject: spec.filterSubject,
  };
  let current: ConsumerConfig | undefined;
  try {
    const jsm = await nc.jetstreamManager();
    try {
      current = (await jsm.consumers.info(spec.stream, spec.durable)).config;
    } catch (err) {
      if (jsErrCode(err) === JS_ERR.streamNotFound) {
        throw new FailedPreconditionError(`stream ${spec.stream} does not exist: call ensureStream first`, { cause: err });
      }
      if (jsErrCode(err) !== JS_ERR.consumerNotFound) throw err;
    }
    if (!current) {
      try {
        await jsm.consumers.add(spec.stream, want);
        return;
      } catch (err) {
        // Another replica created it first; fall through and compare with what it created.
        current = (await jsm.consumers.info(spec.stream, spec.durable).catch(() => {
          throw err;
        })).config;
      }
    }
    if ((current.filter_subject ?? '') !== spec.filterSubject) {
      throw new FailedPreconditionError(
        `${where} filters ${JSON.stringify(current.filter_subject)}, not ${JSON.stringify(spec.filterSubject)}; use a new durable name`,
      );
    }
    if (current.ack_wait !== want.ack_wait || current.max_deliver !== want.max_deliver || current.ack_policy !== AckPolicy.Explicit) {
      await jsm.consumers.update(spec.stream, spec.durable, { ack_wait: want.ack_wait, max_deliver: want.max_deliver });
    }
  } catch (err) {
    if (err instanceof FailedPreconditionError || err instanceof InvalidInputError) throw err;
    throw natsFailure(err, `cannot declare ${where}`);
  }
}

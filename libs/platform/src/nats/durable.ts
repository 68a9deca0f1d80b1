/** Declaring the durable pull consumer a service's replicas share. */
import { AckPolicy, DeliverPolicy, nanos } from 'nats';
import type { ConsumerConfig, JetStreamManager, NatsConnection } from 'nats';
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
  /**
   * A durable this one takes part of the work over from (a consumer split in two). When this
   * durable does not exist yet and that one does, it starts after that one's acknowledged
   * position instead of at the start of the stream: an upgrade does not replay history.
   */
  takeOverFrom?: string;
}

const NAME = /^[A-Za-z0-9_-]+$/;
const FILTER = /^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/;

/** The last stream sequence `durable` acknowledged in order, or undefined when it does not exist. */
async function ackFloorOf(jsm: JetStreamManager, stream: string, durable: string): Promise<number | undefined> {
  try {
    return (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq;
  } catch (err) {
    if (jsErrCode(err) === JS_ERR.consumerNotFound) return undefined;
    throw err;
  }
}

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
      const floor = spec.takeOverFrom ? await ackFloorOf(jsm, spec.stream, spec.takeOverFrom) : undefined;
      if (floor !== undefined) {
        want.deliver_policy = DeliverPolicy.StartSequence;
        want.opt_start_seq = floor + 1;
      }
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

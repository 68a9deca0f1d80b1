/** The view of a JetStream message that event handlers get. */
import { fromBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { JsMsg } from 'nats';
import { InvalidInputError } from '../errors.js';
import { checkMessage } from '../proto-checks.js';
import { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_NATS_MSG_ID, HEADER_RUN_ID, HEADER_SOURCE, HEADER_TRACE_ID } from './headers.js';

/** An event delivered to a consumer's handler. */
export interface ReceivedEvent {
  /** Event id (`Refit-Event-Id`; falls back to `Nats-Msg-Id`, then `<stream>:<sequence>`). */
  id: string;
  /** Protobuf type name of the payload (`Refit-Event-Type`; empty when missing). */
  type: string;
  /** Subject it was published on. */
  subject: string;
  /** Service that published it (`Refit-Source`). */
  source?: string;
  /** Run it belongs to (`Refit-Run-Id`). */
  runId?: string;
  /** Trace id (`Refit-Trace-Id`). */
  traceId?: string;
  /** Encoded protobuf payload. */
  data: Uint8Array;
  /** All headers (first value of each). */
  headers: Readonly<Record<string, string>>;
  /** 1 on the first delivery, then 2, 3… */
  deliveryCount: number;
  /**
   * Decodes the payload.
   * @throws InvalidInputError (permanent: the event is dead-lettered) when the event's type is not
   *   `schema.typeName`, the payload does not decode, or it holds an enum number its schema does
   *   not define.
   */
  decode<T extends DescMessage>(schema: T): MessageShape<T>;
}

/** Builds a {@link ReceivedEvent} from a JetStream message. */
export function toReceivedEvent(msg: JsMsg): ReceivedEvent {
  const headers: Record<string, string> = {};
  if (msg.headers) {
    for (const key of msg.headers.keys()) headers[key] = msg.headers.get(key);
  }
  const header = (name: string): string | undefined => (msg.headers?.has(name) ? msg.headers.get(name) || undefined : undefined);
  const id = header(HEADER_EVENT_ID) ?? header(HEADER_NATS_MSG_ID) ?? `${msg.info.stream}:${msg.seq}`;
  const type = header(HEADER_EVENT_TYPE) ?? '';
  return {
    id,
    type,
    subject: msg.subject,
    source: header(HEADER_SOURCE),
    runId: header(HEADER_RUN_ID),
    traceId: header(HEADER_TRACE_ID),
    data: msg.data,
    headers,
    deliveryCount: msg.info.deliveryCount,
    decode<T extends DescMessage>(schema: T): MessageShape<T> {
      if (type !== '' && type !== schema.typeName) {
        throw new InvalidInputError(`event ${id} on ${msg.subject} is a ${type}, not a ${schema.typeName}`);
      }
      let decoded: MessageShape<T>;
      try {
        decoded = fromBinary(schema, msg.data);
      } catch (err) {
        throw new InvalidInputError(`event ${id} on ${msg.subject} does not decode as ${schema.typeName}`, { cause: err });
      }
      // An enum number the schema does not define is refused here, by name, not as a TypeError later.
      return checkMessage(schema, decoded, { what: `event ${id} on ${msg.subject}` });
    },
  };
}

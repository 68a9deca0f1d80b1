import { randomUUID } from 'node:crypto';
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { headers as natsHeaders, type NatsConnection } from 'nats';
import { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_RUN_ID, HEADER_SIGNATURE, HEADER_SOURCE, type EventDef, type EventSigner } from '@refit/platform';

/** Options of {@link publishEvent}. */
export type PublishEventOptions<S extends DescMessage> = {
  /** The deployment's subject prefix. */
  subjectPrefix: string;
  event: EventDef<S>;
  message: MessageInitShape<S>;
  /** Who the event claims to come from (`Refit-Source`). */
  source: string;
  /** Signs it as `source` would (a test playing that service); omit to send it unsigned, as an outsider. */
  signer?: EventSigner;
  runId?: string;
  /** Event id (default a fresh UUID). */
  id?: string;
};

/**
 * Publishes one event straight to JetStream, bypassing any service's outbox: a test that plays a
 * service (with that service's signer) or an attacker (unsigned, or signed with the wrong key).
 * Returns the stream sequence it was stored at.
 */
export async function publishEvent<S extends DescMessage>(nc: NatsConnection, o: PublishEventOptions<S>): Promise<number> {
  const id = o.id ?? randomUUID();
  const subject = `${o.subjectPrefix}.${o.event.name}`;
  const payload = toBinary(o.event.schema, create(o.event.schema, o.message));
  const h = natsHeaders();
  h.set(HEADER_EVENT_ID, id);
  h.set(HEADER_EVENT_TYPE, o.event.schema.typeName);
  h.set(HEADER_SOURCE, o.source);
  if (o.runId) h.set(HEADER_RUN_ID, o.runId);
  if (o.signer) h.set(HEADER_SIGNATURE, o.signer.sign({ subject, id, type: o.event.schema.typeName, runId: o.runId, payload }));
  const ack = await nc.jetstream().publish(subject, payload, { msgID: id, headers: h });
  return ack.seq;
}

/**
 * Waits until a durable consumer has taken every message up to stream sequence `seq` and has
 * nothing left unacknowledged: whatever it did with them (handled or refused), it is done.
 */
export async function waitConsumed(nc: NatsConnection, opts: { stream: string; durable: string; seq: number; timeoutMs?: number }): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const info = await jsm.consumers.info(opts.stream, opts.durable).catch(() => undefined);
    if (info && info.ack_floor.stream_seq >= opts.seq && info.num_ack_pending === 0) return;
    if (Date.now() > deadline) throw new Error(`consumer ${opts.durable} did not finish with message ${opts.seq} of ${opts.stream} in time (ack floor ${info?.ack_floor.stream_seq ?? '?'})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

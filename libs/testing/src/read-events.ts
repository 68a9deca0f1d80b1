/** Test helper: read what was published to a stream, without disturbing the service consumers. */
import { AckPolicy, DeliverPolicy, nanos } from 'nats';
import type { NatsConnection } from 'nats';

/** A message as stored in the stream. */
export interface StoredEvent {
  /** Subject it was published on. */
  subject: string;
  /** Stream sequence. */
  seq: number;
  /** Headers (first value of each). */
  headers: Record<string, string>;
  /** Payload. */
  data: Uint8Array;
}

/** Options of {@link readEvents}. */
export interface ReadEventsOptions {
  /** Stream to read. */
  stream: string;
  /** Subject filter (default: everything in the stream). */
  subject?: string;
}

/**
 * Returns every message currently stored in `stream` matching `subject`, oldest first, using a
 * throw-away ephemeral consumer.
 */
export async function readEvents(nc: NatsConnection, opts: ReadEventsOptions): Promise<StoredEvent[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.consumers.add(opts.stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: opts.subject,
    inactive_threshold: nanos(30_000),
  });
  try {
    const consumer = await nc.jetstream().consumers.get(opts.stream, info.name);
    const out: StoredEvent[] = [];
    let pending = info.num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 256), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        const headers: Record<string, string> = {};
        if (m.headers) for (const k of m.headers.keys()) headers[k] = m.headers.get(k);
        out.push({ subject: m.subject, seq: m.seq, headers, data: m.data });
        got++;
      }
      if (got === 0) break;
      pending -= got;
    }
    return out;
  } finally {
    await jsm.consumers.delete(opts.stream, info.name).catch(() => undefined);
  }
}

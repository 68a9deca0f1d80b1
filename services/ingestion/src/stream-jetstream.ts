/** The JetStream side of a stream source: the stream that captures its subjects, and its durable consumer. */
import { AckPolicy, DeliverPolicy, DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager } from 'nats';
import { FailedPreconditionError } from '@refit/platform';
import type { StreamConfig } from './config.js';

/** JetStream API error codes acted on (nats-server's errors.json): never the message text. */
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;
const jsCode = (err: unknown): number | undefined => (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;

/** How long the stream de-duplicates a message id (`Nats-Msg-Id`) a publisher sends again. */
const DUPLICATE_WINDOW_MS = 120_000;

/** The stream a source reads: its name, and whether Refit created it (then it is purged behind the segments). */
export type SourceStream = { stream: string; owned: boolean };

/** The name of the stream Refit creates for a pipeline: `<service stream>_STREAM_<PIPELINE>`. */
export const streamNameOf = (serviceStream: string, pipeline: string): string => `${serviceStream}_STREAM_${pipeline.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** The durable consumer a pipeline's stream is read with (shared by every replica). */
export const durableOf = (pipeline: string): string => `ingestion-stream-${pipeline}`;

/** Names of the streams capturing `subject`. */
async function streamsOf(jsm: JetStreamManager, subject: string): Promise<string[]> {
  const names: string[] = [];
  for await (const name of jsm.streams.names(subject)) names.push(name);
  return names;
}

/**
 * Makes sure one stream captures both subjects: an existing stream that already does is reused
 * as it is; otherwise Refit's stream for the pipeline is created (or its subjects set) with the
 * configured limits and `discard: new`, so a full stream refuses publishers — back-pressure they
 * see — instead of dropping old rows.
 * @throws FailedPreconditionError when the two subjects are captured by different streams, or one
 *   of them by a stream that is not Refit's.
 */
export async function ensureSourceStream(jsm: JetStreamManager, s: { name: string; subject: string; labels: string; limits: StreamConfig }): Promise<SourceStream> {
  const [rows, labels] = await Promise.all([streamsOf(jsm, s.subject), streamsOf(jsm, s.labels)]);
  const shared = rows.find((n) => labels.includes(n));
  if (shared) return { stream: shared, owned: shared === s.name };
  const foreign = [...rows, ...labels].find((n) => n !== s.name);
  if (foreign) {
    throw new FailedPreconditionError(
      `stream ${foreign} captures ${rows.includes(foreign) ? s.subject : s.labels} but not ${rows.includes(foreign) ? s.labels : s.subject}: rows and labels must be on one stream; add the other subject to ${foreign}, or remove it so Refit creates ${s.name}`,
      { details: { stream: foreign } },
    );
  }
  const config = {
    name: s.name,
    subjects: [s.subject, s.labels],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_msgs: s.limits.maxMessages,
    max_bytes: s.limits.maxBytes,
    max_msg_size: s.limits.maxMessageBytes,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  try {
    const info = await jsm.streams.info(s.name);
    await jsm.streams.update(s.name, { ...info.config, subjects: config.subjects });
  } catch (err) {
    if (jsCode(err) !== STREAM_NOT_FOUND) throw err;
    await jsm.streams.add(config);
  }
  return { stream: s.name, owned: true };
}

/**
 * (Re)creates the durable pull consumer to deliver from `startSequence`: where the last committed
 * segment ended, as Postgres records it. Done each time a replica takes the pipeline's lease, so
 * what a previous holder had delivered but not persisted comes again, in order — the position is
 * the database's, never the consumer's. Acknowledgements are cumulative (AckAll): one per segment.
 */
export async function resetConsumer(jsm: JetStreamManager, s: { stream: string; durable: string; startSequence: number; limits: StreamConfig }): Promise<void> {
  try {
    await jsm.consumers.delete(s.stream, s.durable);
  } catch (err) {
    if (jsCode(err) !== CONSUMER_NOT_FOUND) throw err;
  }
  await jsm.consumers.add(s.stream, {
    durable_name: s.durable,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, s.startSequence),
    ack_wait: nanos(s.limits.ackWaitMs),
    max_ack_pending: s.limits.maxAckPending,
    max_deliver: -1,
  });
}

/** Messages published and not yet persisted in a segment, and how full the stream is (0–1). */
export async function backlogOf(jsm: JetStreamManager, stream: string, durable: string): Promise<{ lag: number; fill: number } | undefined> {
  try {
    const [c, s] = await Promise.all([jsm.consumers.info(stream, durable), jsm.streams.info(stream)]);
    const { max_msgs: maxMsgs, max_bytes: maxBytes } = s.config;
    const fill = Math.max(maxMsgs > 0 ? s.state.messages / maxMsgs : 0, maxBytes > 0 ? s.state.bytes / maxBytes : 0);
    return { lag: c.num_pending + c.num_ack_pending, fill: Math.min(1, fill) };
  } catch (err) {
    const code = jsCode(err);
    if (code === CONSUMER_NOT_FOUND || code === STREAM_NOT_FOUND) return undefined;
    throw err;
  }
}

/** Removes what committed segments hold from a stream Refit owns: what stays is the backlog its limits bound. */
export async function purgeThrough(jsm: JetStreamManager, stream: string, lastSequence: number): Promise<void> {
  await jsm.streams.purge(stream, { seq: lastSequence + 1 });
}

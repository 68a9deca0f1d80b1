/** NATS JetStream: connection, stream, event headers, transactional outbox + relay, consumers. */
export { connectNats, ensureStream } from './connection.js';
export type { ConnectNatsOptions, EnsureStreamOptions, RefitNatsConnection } from './connection.js';
export * from './headers.js';
export { deterministicEventId, enqueueEvent, enqueueRawEvent } from './outbox.js';
export type { OutgoingEvent, RawOutgoingEvent } from './outbox.js';
export { startRelay } from './relay.js';
export type { Relay, RelayOptions } from './relay.js';
export { DEAD_LETTER_HEADROOM, startConsumer } from './consumer.js';
export type { Consumer, ConsumerOptions } from './consumer.js';
export { deadLetterSubject, isDeadLetterSubject } from './dead-letter.js';
export type { DeadLetterHook } from './dead-letter.js';
export { ensureDurable } from './durable.js';
export type { DurableSpec } from './durable.js';
export type { ReceivedEvent } from './received-event.js';

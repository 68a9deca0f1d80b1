/**
 * What the plumbing reports as it works (gRPC calls, event deliveries, outbox publishing). Plain
 * callbacks with no dependency, so gRPC and NATS code stays free of prom-client; the runtime
 * passes implementations that count (see platform-metrics.ts).
 */

/** Called once per finished gRPC call: its full method path, its status code and how long it took. */
export type CallObserver = (method: string, code: number, seconds: number) => void;

/** What happens to the events of one consumer. */
export interface DeliveryObserver {
  /** An event reached the handler (`redelivery`: JetStream delivered it before). */
  delivered(redelivery: boolean): void;
  /** An event was acknowledged. */
  acked(): void;
  /** An event was handed back for a retry. */
  naked(): void;
  /** An event was given up and recorded as a dead letter. */
  deadLettered(): void;
  /** A delivery ended (whatever its outcome) after this long. */
  handled(seconds: number): void;
}

/** What one round of the outbox relay did. */
export type RelayObserver = (round: { published: number; failed: number; seconds: number }) => void;

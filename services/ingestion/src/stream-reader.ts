import type { Consumer, JsMsg } from 'nats';

/** How long one pull waits for messages on an idle stream (the least nats.js takes). */
const FETCH_EXPIRES_MS = 1000;

/**
 * Pulls a consumer's messages a batch at a time into a queue, and only while fewer than a batch
 * wait there: memory stays bounded, and a backlog is read as fast as it is taken. (nats.js's
 * `consume()` kept pulling into an unbounded queue, then stalled for seconds near the end of a
 * backlog.) A failed pull (the consumer deleted, the server gone) is kept in {@link failure}.
 */
export class PullReader {
  /** Why reading stopped, when it failed. */
  failure: unknown;
  readonly #queue: JsMsg[] = [];
  readonly #batch: number;
  #stopped = false;
  #fetching: { stop: () => void } | undefined;
  #room: () => void = () => undefined;
  #wake: () => void = () => undefined;
  readonly #done: Promise<void>;

  constructor(consumer: Consumer, batch: number) {
    this.#batch = batch;
    this.#done = this.#read(consumer).catch((err: unknown) => {
      if (!this.#stopped) this.failure ??= err;
      this.#wake();
    });
  }

  async #read(consumer: Consumer): Promise<void> {
    while (!this.#stopped) {
      if (this.#queue.length >= this.#batch) {
        await new Promise<void>((resolve) => (this.#room = resolve));
        this.#room = () => undefined;
        continue;
      }
      const batch = await consumer.fetch({ max_messages: this.#batch, expires: FETCH_EXPIRES_MS });
      this.#fetching = batch;
      for await (const m of batch) {
        this.#queue.push(m);
        this.#wake();
      }
      this.#fetching = undefined;
    }
  }

  /** Everything queued, in stream order (the reader pulls more meanwhile). */
  take(): JsMsg[] {
    const taken = this.#queue.splice(0);
    this.#room();
    return taken;
  }

  /** Puts messages taken but not used back at the front of the queue. */
  giveBack(messages: JsMsg[]): void {
    this.#queue.unshift(...messages);
  }

  /** True when messages wait. */
  get ready(): boolean {
    return this.#queue.length > 0;
  }

  /** Resolves when messages wait, after `ms`, on {@link interrupt} or when reading failed. */
  async wait(ms: number): Promise<void> {
    if (this.#queue.length > 0 || this.failure !== undefined) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.#wake = () => undefined;
  }

  /** Ends a {@link wait} at once (a write failed, the work is stopping). */
  interrupt(): void {
    this.#wake();
  }

  /** Stops pulling (a pull in flight is cut short) and waits for the reading to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#fetching?.stop();
    this.#room();
    this.#wake();
    await this.#done;
  }
}

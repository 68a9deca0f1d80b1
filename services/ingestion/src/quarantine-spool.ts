import { createReadStream } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { QuarantineEntry } from './store.js';

/** Quarantined rows kept in memory before the rest go to a temporary file (a mostly bad 1 GB file must not fill the heap). */
export const QUARANTINE_IN_MEMORY = 10_000;

/**
 * The quarantined rows of one upload, in file order: the first ones in memory, the rest spooled to
 * a temporary JSON-lines file, read back in chunks when the batch is recorded.
 */
export class QuarantineSpool {
  readonly #head: QuarantineEntry[] = [];
  #pending: string[] = [];
  #dir: string | undefined;
  #count = 0;

  /** How many rows were quarantined. */
  get count(): number {
    return this.#count;
  }

  /** Adds a row. Flushes to disk in the background of the caller's awaits (see {@link flush}). */
  push(e: QuarantineEntry): void {
    this.#count++;
    if (this.#head.length < QUARANTINE_IN_MEMORY) this.#head.push(e);
    else this.#pending.push(JSON.stringify(e));
  }

  /** Writes the rows waiting for the temporary file; call once per chunk. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    this.#dir ??= await mkdtemp(join(tmpdir(), 'refit-quarantine-'));
    const lines = this.#pending;
    this.#pending = [];
    await appendFile(join(this.#dir, 'rows.jsonl'), `${lines.join('\n')}\n`);
  }

  /** The first `n` rows. */
  first(n: number): QuarantineEntry[] {
    return this.#head.slice(0, n);
  }

  /** Every row, `size` at a time, in file order. */
  async *chunks(size: number): AsyncGenerator<QuarantineEntry[]> {
    await this.flush();
    for (let i = 0; i < this.#head.length; i += size) yield this.#head.slice(i, i + size);
    if (!this.#dir) return;
    let part: QuarantineEntry[] = [];
    for await (const line of createInterface({ input: createReadStream(join(this.#dir, 'rows.jsonl')) })) {
      if (!line) continue;
      part.push(JSON.parse(line) as QuarantineEntry);
      if (part.length >= size) {
        yield part;
        part = [];
      }
    }
    if (part.length > 0) yield part;
  }

  /** Removes the temporary file. */
  async dispose(): Promise<void> {
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}

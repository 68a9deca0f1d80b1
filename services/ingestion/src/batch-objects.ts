import { PassThrough } from 'node:stream';
import type { ArtifactRef, ArtifactStore, Logger } from '@refit/platform';

/** Bytes buffered ahead of each upload's spool (raw file, typed rows). */
const SPOOL_BUFFER_BYTES = 1024 * 1024;

/**
 * The two objects a push streams into the store while it reads the file: the raw file as it came
 * and the accepted rows as typed JSON lines, under the batch's fresh prefix. Written before the
 * batch row that records them, so a push that ends without that row (the client went away, a
 * failure while recording) must {@link BatchObjects.discard} them: an object no batch row names is
 * data nobody can find, list or delete.
 */
export class BatchObjects {
  /** Where the raw bytes go. */
  readonly raw: PassThrough;
  /** Where the accepted rows go, one JSON line each. */
  readonly rows: PassThrough;
  readonly #puts: [Promise<ArtifactRef>, Promise<ArtifactRef>];

  constructor(
    private readonly store: ArtifactStore,
    private readonly logger: Logger,
    prefix: string,
    format: string,
  ) {
    // Room for a few chunks: with the default 16 KiB every chunk waited for the previous one's
    // spool write, so validating and writing took turns instead of overlapping.
    this.raw = new PassThrough({ highWaterMark: SPOOL_BUFFER_BYTES });
    this.rows = new PassThrough({ highWaterMark: SPOOL_BUFFER_BYTES });
    // Fresh keys (a new batch id): uploaded while the file streams in, not after it (storage.ts).
    this.#puts = [store.putStreamToFreshKey(`${prefix}/raw.${format}`, this.raw), store.putStreamToFreshKey(`${prefix}/rows.jsonl`, this.rows)];
    // Awaited by finish or discard; until then a failed upload must not be an unhandled rejection.
    for (const p of this.#puts) p.catch(() => undefined);
  }

  /** Ends the raw file (the rows go on) once the upload's bytes are all in. */
  endRaw(): void {
    this.raw.end();
  }

  /** Ends both objects and waits until they are stored. */
  async finish(): Promise<{ rawRef: ArtifactRef; rowsRef: ArtifactRef }> {
    this.raw.end();
    this.rows.end();
    const [rawRef, rowsRef] = await Promise.all(this.#puts);
    return { rawRef, rowsRef };
  }

  /**
   * Stops both uploads and removes what was already stored (an upload cut short is aborted by the
   * store itself), unless `recorded` finds a batch row naming them after all: a commit whose answer
   * was lost. Never throws: objects that cannot be checked or removed are kept and logged with
   * their keys (kept unnamed is better than named and gone), and the push's own error is what the
   * caller reports.
   */
  async discard(recorded: () => Promise<boolean>): Promise<void> {
    // Destroyed, a stream fails its upload (a premature close), so a part not yet sent never is.
    this.raw.destroy();
    this.rows.destroy();
    const settled = await Promise.allSettled(this.#puts);
    const written = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.key] : []));
    if (written.length === 0) return;
    try {
      if (await recorded()) return;
      await this.store.remove(written);
      this.logger.info({ keys: written }, 'objects of an unrecorded push removed');
    } catch (err) {
      this.logger.error({ err, keys: written }, 'objects of an unrecorded push could not be removed');
    }
  }
}

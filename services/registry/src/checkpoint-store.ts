import type { ArtifactStore } from '@refit/platform';
import { checkpointPath, checkpointPrefix, checkpointSeqOf, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint.js';

/**
 * The newest checkpoint of a pipeline's ledger in the object store; undefined when it has none.
 *
 * @throws FailedPreconditionError when the newest object there is not a checkpoint.
 */
export async function newestCheckpoint(store: ArtifactStore, pipeline: string): Promise<Checkpoint | undefined> {
  let newest: { path: string; seq: number } | undefined;
  for (const path of await store.list(checkpointPrefix(pipeline))) {
    const seq = checkpointSeqOf(path);
    // Only the pipeline's own checkpoints: the listing also holds those of a pipeline named `<pipeline>/checkpoints/…`.
    if (seq !== undefined && path === checkpointPath(pipeline, seq) && (!newest || seq > newest.seq)) newest = { path, seq };
  }
  return newest && decodeCheckpoint((await store.get(newest.path)).toString('utf8'), newest.path);
}

/**
 * Writes a checkpoint at its path. The same checkpoint again changes nothing (its bytes depend only
 * on the entry it records, so replicas racing to write it write the same object).
 *
 * @throws ObjectExistsError when a different checkpoint of that entry is already there.
 */
export async function writeCheckpoint(store: ArtifactStore, cp: Checkpoint): Promise<void> {
  await store.put(checkpointPath(cp.pipeline, cp.seq), encodeCheckpoint(cp), { contentType: 'application/json' });
}

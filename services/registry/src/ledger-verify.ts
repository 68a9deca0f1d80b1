import type pg from 'pg';
import { NotFoundError, type ArtifactStore, type Logger } from '@refit/platform';
import { makeCheckpoint } from './checkpoint.js';
import { newestCheckpoint, writeCheckpoint } from './checkpoint-store.js';
import { readLedger } from './ledger.js';
import type { LedgerKey } from './ledger-key.js';
import { judgeLedger, type LedgerVerdict } from './ledger-verdict.js';

/** What {@link verifyAnchoredLedger} uses. */
export type VerifyDeps = { pool: pg.Pool; store: ArtifactStore; ledgerKey: LedgerKey | undefined; logger: Logger };

/**
 * Verifies a pipeline's whole ledger (see {@link judgeLedger}); with a key, against its newest
 * checkpoint too. When all holds and the head is newer than that checkpoint (the registry stopped
 * between a commit and its checkpoint), the head's checkpoint is written now.
 *
 * @throws NotFoundError when the pipeline has neither ledger entries nor checkpoints.
 */
export async function verifyAnchoredLedger({ pool, store, ledgerKey, logger }: VerifyDeps, pipeline: string): Promise<LedgerVerdict> {
  // The newest checkpoint before the table: it was written after its entries committed, so the
  // table read next holds them.
  const checkpoint = ledgerKey ? await newestCheckpoint(store, pipeline) : undefined;
  const entries = await readLedger(pool, pipeline);
  if (entries.length === 0 && !checkpoint) throw new NotFoundError(`pipeline '${pipeline}' has no ledger entries`);
  const verdict = judgeLedger(entries, { pipeline, key: ledgerKey, checkpoint });
  const head = entries.at(-1);
  if (!verdict.checkpointHead || !ledgerKey || !head) return verdict;
  const written = makeCheckpoint(ledgerKey, head);
  try {
    await writeCheckpoint(store, written);
  } catch (err) {
    // The verdict stands; the checkpointer or the next verify writes it.
    logger.warn({ err, pipeline }, 'could not checkpoint the verified ledger head');
    return verdict;
  }
  return { ...verdict, checkpoint: written, checkpointHead: false };
}

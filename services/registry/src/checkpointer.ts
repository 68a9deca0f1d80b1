/**
 * Writes ledger checkpoints after the commits that record their entries: appends queue their
 * entry in `ledger_checkpoint_due` within their transaction, and this loop turns the queue into
 * checkpoints of each pipeline's head, then deletes what it covered. A crash between a commit and
 * its checkpoint leaves the rows queued, so the checkpoint is written after the restart.
 */
import type pg from 'pg';
import { isPermanent, type ArtifactStore, type Logger } from '@refit/platform';
import { makeCheckpoint, type Checkpoint } from './checkpoint.js';
import { newestCheckpoint, writeCheckpoint } from './checkpoint-store.js';
import { readLedgerFrom } from './ledger.js';
import type { LedgerKey } from './ledger-key.js';
import { judgeLedger } from './ledger-verdict.js';

/** What checkpointing uses. */
export type CheckpointDeps = { pool: pg.Pool; store: ArtifactStore; key: LedgerKey; logger: Logger };

/** The outcome of {@link anchorHead}: the checkpoint written, or why none may be. */
export type AnchorOutcome = { written?: Checkpoint; problem?: string };

/**
 * Checkpoints a pipeline's head when it is newer than its newest checkpoint, after checking the
 * entries since that checkpoint (chain and MACs) and that the table still holds the checkpointed
 * entry unchanged. A cut or rewritten ledger is never anchored: the problem is returned instead.
 */
export async function anchorHead({ pool, store, key }: Omit<CheckpointDeps, 'logger'>, pipeline: string): Promise<AnchorOutcome> {
  // The newest checkpoint before the table: it was written after its entries committed, so the
  // table read next holds them (read the other way round, a racing replica's checkpoint could be
  // newer than the table we read, and look like a cut).
  const newest = await newestCheckpoint(store, pipeline);
  const entries = await readLedgerFrom(pool, pipeline, newest?.seq ?? 1);
  const verdict = judgeLedger(entries, { pipeline, key, checkpoint: newest, fromCheckpoint: newest !== undefined });
  if (!verdict.ok) return { problem: verdict.problem };
  const head = entries.at(-1);
  if (!verdict.checkpointHead || !head) return {};
  const written = makeCheckpoint(key, head);
  await writeCheckpoint(store, written);
  return { written };
}

/** Checkpoints every pipeline with queued entries (up to `batch` pipelines); returns how many it looked at. */
export async function anchorDue(deps: CheckpointDeps, batch = 100): Promise<number> {
  const due = (await deps.pool.query<{ pipeline: string; seq: string }>('select pipeline, max(seq) as seq from ledger_checkpoint_due group by pipeline order by pipeline limit $1', [batch])).rows;
  for (const d of due) {
    try {
      const { problem } = await anchorHead(deps, d.pipeline);
      if (problem) deps.logger.error({ pipeline: d.pipeline, problem }, 'the decision ledger does not match its checkpoints: not anchoring it (see refit ledger verify)');
    } catch (err) {
      // An outage is retried; a checkpoint that is not one of ours, or another one at the path, is not going to change.
      if (!isPermanent(err)) throw err;
      deps.logger.error({ err, pipeline: d.pipeline }, 'cannot checkpoint the decision ledger');
    }
    await deps.pool.query('delete from ledger_checkpoint_due where pipeline = $1 and seq <= $2', [d.pipeline, d.seq]);
  }
  return due.length;
}

/** Options of {@link startCheckpointer}. */
export type CheckpointerOptions = CheckpointDeps & {
  /** Pause between looks at an empty queue, in ms (default 500). */
  pollMs?: number;
  /** Longest pause between retries while Postgres or the object store is down, in ms (default 10000). */
  maxBackoffMs?: number;
};

/** A running checkpointer. */
export type Checkpointer = {
  /** Stops looking at the queue and waits for the checkpoints in flight. */
  stop(): Promise<void>;
};

/**
 * Starts the loop that checkpoints queued ledger entries. Every replica may run one: checkpoints
 * are idempotent (the same entry always gives the same object), so two replicas racing do no harm.
 */
export function startCheckpointer(o: CheckpointerOptions): Checkpointer {
  const pollMs = o.pollMs ?? 500;
  const maxBackoffMs = o.maxBackoffMs ?? 10_000;
  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const loop = (async () => {
    let failures = 0;
    while (!stopping) {
      let looked = 0;
      try {
        looked = await anchorDue(o);
        failures = 0;
      } catch (err) {
        failures++;
        o.logger.warn({ err, failures }, 'writing ledger checkpoints failed; will retry');
      }
      if (!stopping && looked === 0) await sleep(failures > 0 ? Math.min(pollMs * 2 ** failures, maxBackoffMs) : pollMs);
    }
  })();
  return {
    async stop() {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}

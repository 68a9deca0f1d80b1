import { checkpointMacOk, type Checkpoint } from './checkpoint.js';
import { verifyChain, verifyMacs, type ChainCheck, type LedgerEntry } from './ledger.js';
import type { LedgerKey } from './ledger-key.js';

/** What a verdict says when the registry has no ledger key. */
export const ANCHORING_OFF =
  'anchoring is off: set REFIT_LEDGER_KEY on the registry (a file of at least 32 random bytes); only the hash chain was checked, and it cannot show that the last entries were removed or that the chain was recomputed after an edit';

/** The outcome of {@link judgeLedger}: the chain's, plus what the MACs and the checkpoint say. */
export type LedgerVerdict = ChainCheck & {
  /** True when a ledger key was at hand, so entry MACs and the newest checkpoint were checked too. */
  anchored: boolean;
  /** Leading entries without a MAC (recorded before anchoring was turned on). */
  unanchored: number;
  /** The newest checkpoint the ledger was compared with, if any. */
  checkpoint: Checkpoint | undefined;
  /** First entry the checkpoint proves existed that the table no longer has (0 when none). */
  missingFrom: number;
  /** Last such entry (0 when none). */
  missingTo: number;
  /** What the verdict does not cover, readable (empty when it covers everything). */
  notes: string[];
  /** True when all is well and the head carries a MAC but is newer than the checkpoint: anchor it. */
  checkpointHead: boolean;
};

/** Options of {@link judgeLedger}. */
export type JudgeOptions = {
  /** The pipeline whose ledger it is. */
  pipeline: string;
  /** The ledger key; undefined: only the chain is checked. */
  key: LedgerKey | undefined;
  /** The newest checkpoint in the object store; undefined when there is none. */
  checkpoint: Checkpoint | undefined;
  /**
   * The entries start at the checkpoint's entry, not at entry 1 (what the checkpointer reads): the
   * chain is checked from the first entry's previous hash, and every entry must carry a MAC.
   * Default false.
   */
  fromCheckpoint?: boolean;
};

const short = (hash: string): string => `${hash.slice(0, 12)}…`;
const span = (from: number, to: number): string => (from === to ? `entry ${from}` : `entries ${from}–${to}`);

type Break = Pick<LedgerVerdict, 'firstBadSeq' | 'problem' | 'missingFrom' | 'missingTo'>;

/** How the ledger disagrees with its newest checkpoint (assumes chain and MACs verified); undefined when it agrees. */
function againstCheckpoint(entries: readonly LedgerEntry[], cp: Checkpoint, pipeline: string, key: LedgerKey): Break | undefined {
  const bad = (problem: string): Break => ({ firstBadSeq: cp.seq, problem, missingFrom: 0, missingTo: 0 });
  const taken = `the checkpoint taken at ${cp.recordedAt}`;
  if (cp.pipeline !== pipeline) return bad(`the newest checkpoint is of pipeline '${cp.pipeline}', not '${pipeline}': it was copied there`);
  if (!checkpointMacOk(key, cp)) return bad(`${taken}, of entry ${cp.seq}, does not carry this registry's MAC: it was not written with the ledger key`);
  const end = entries.at(-1)?.seq ?? 0;
  if (cp.seq > end) {
    const from = end + 1;
    const table = end > 0 ? `ends at entry ${end}` : 'has no entries';
    return { firstBadSeq: from, missingFrom: from, missingTo: cp.seq, problem: `${span(from, cp.seq)} ${from === cp.seq ? 'is' : 'are'} missing: ${taken} records entry ${cp.seq} (hash ${short(cp.hash)}) but the table ${table}` };
  }
  const at = entries.find((e) => e.seq === cp.seq);
  if (!at) return bad(`entry ${cp.seq}, which ${taken} records, is missing from the table`);
  if (at.hash !== cp.hash) return bad(`entry ${cp.seq} is not the one ${taken} records: its hash is ${short(at.hash)}, the checkpoint's ${short(cp.hash)}: the ledger was cut and written again after it`);
  return undefined;
}

/**
 * Judges a pipeline's ledger: its hash chain, then (with a key) every entry's MAC, then the newest
 * checkpoint — the table must still reach the entry it records, with the same hash. Reports the
 * first problem found, in that order.
 */
export function judgeLedger(entries: readonly LedgerEntry[], o: JudgeOptions): LedgerVerdict {
  const first = entries[0];
  const chain = o.fromCheckpoint && first ? verifyChain(entries, { seq: first.seq - 1, hash: first.prevHash }) : verifyChain(entries);
  const verdict: LedgerVerdict = { ...chain, anchored: o.key !== undefined, unanchored: 0, checkpoint: o.checkpoint, missingFrom: 0, missingTo: 0, notes: [], checkpointHead: false };
  if (!o.key) return { ...verdict, notes: [ANCHORING_OFF] };
  if (!chain.ok) return verdict;
  const macs = verifyMacs(entries, o.key, { allowUnanchoredPrefix: !o.fromCheckpoint });
  if (!macs.ok) return { ...verdict, ok: false, firstBadSeq: macs.firstBadSeq, problem: macs.problem };
  const unanchored = macs.unanchored;
  const notes = unanchored > 0 ? [`${span(1, unanchored)} ${unanchored === 1 ? 'was' : 'were'} written before anchoring was turned on: only the hash chain vouches for ${unanchored === 1 ? 'it' : 'them'}`] : [];
  const broken = o.checkpoint && againstCheckpoint(entries, o.checkpoint, o.pipeline, o.key);
  if (broken) return { ...verdict, ...broken, ok: false, unanchored, notes };
  const head = entries.at(-1);
  if (head && !head.mac) notes.push('no entry is anchored yet: the next decision recorded will be');
  const checkpointHead = head?.mac !== undefined && (!o.checkpoint || head.seq > o.checkpoint.seq);
  return { ...verdict, unanchored, notes, checkpointHead };
}

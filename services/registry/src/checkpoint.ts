/**
 * Ledger checkpoints: a pipeline's head as the registry saw it after a commit, written once to the
 * object store at `ledger/<pipeline>/checkpoints/<seq, 12 digits>.json` and never overwritten.
 * Outside the database, they show when the table was cut back or rewritten behind the registry.
 */
import { createHmac } from 'node:crypto';
import { FailedPreconditionError } from '@refit/platform';
import { canonicalJson, macMatches, type LedgerEntry } from './ledger.js';
import type { LedgerKey } from './ledger-key.js';

/** One checkpoint: the entry it records and the registry's MAC over the other fields. */
export type Checkpoint = {
  pipeline: string;
  /** The entry recorded (the head when the checkpoint was taken). */
  seq: number;
  /** That entry's hash. */
  hash: string;
  /** That entry's time: the checkpoint's content is fixed by the entry, so replicas racing to write it write the same bytes. */
  recordedAt: string;
  /** HMAC-SHA256 (hex) of the canonical JSON of the fields above under the ledger key. */
  mac: string;
};

/** The folder of a pipeline's checkpoints in the object store. */
export const checkpointPrefix = (pipeline: string): string => `ledger/${pipeline}/checkpoints/`;

/** Where the checkpoint of entry `seq` lives (zero-padded, so a listing sorts by entry). */
export const checkpointPath = (pipeline: string, seq: number): string => `${checkpointPrefix(pipeline)}${String(seq).padStart(12, '0')}.json`;

/** The entry number a checkpoint path names; undefined for any other object. */
export function checkpointSeqOf(path: string): number | undefined {
  const m = /\/checkpoints\/(\d+)\.json$/.exec(path);
  return m ? Number(m[1]) : undefined;
}

// The MAC input is JSON (it starts with `{`), so it can never equal an entry MAC's input (a hex hash).
const macOf = (key: LedgerKey, c: Omit<Checkpoint, 'mac'>): string =>
  createHmac('sha256', key).update(canonicalJson({ pipeline: c.pipeline, seq: c.seq, hash: c.hash, recordedAt: c.recordedAt })).digest('hex');

/** The checkpoint of `head`. */
export function makeCheckpoint(key: LedgerKey, head: LedgerEntry): Checkpoint {
  const fields = { pipeline: head.pipeline, seq: head.seq, hash: head.hash, recordedAt: head.recordedAt };
  return { ...fields, mac: macOf(key, fields) };
}

/** True when the checkpoint's MAC was made with `key`. */
export const checkpointMacOk = (key: LedgerKey, c: Checkpoint): boolean => macMatches(macOf(key, c), c.mac);

/** The stored form of a checkpoint (the same bytes for the same checkpoint). */
export const encodeCheckpoint = (c: Checkpoint): string =>
  `${JSON.stringify({ pipeline: c.pipeline, seq: c.seq, hash: c.hash, recordedAt: c.recordedAt, mac: c.mac })}\n`;

/**
 * Parses a stored checkpoint read from `path`.
 *
 * @throws FailedPreconditionError when it is not a checkpoint, or records another entry than its path names.
 */
export function decodeCheckpoint(text: string, path: string): Checkpoint {
  const fail = (why: string): never => {
    throw new FailedPreconditionError(`${path} is not a ledger checkpoint: ${why}`, { details: { path } });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('not a JSON object');
  const { pipeline, seq, hash, recordedAt, mac } = parsed as Partial<Record<keyof Checkpoint, unknown>>;
  if (typeof pipeline !== 'string' || typeof hash !== 'string' || typeof recordedAt !== 'string' || typeof mac !== 'string') return fail('pipeline, hash, recordedAt and mac must be strings');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return fail('seq must be a positive integer');
  // A copy of an older checkpoint under a newer name would make the ledger look shorter than it was.
  if (checkpointSeqOf(path) !== seq) return fail(`it records entry ${seq}, not the one its name says`);
  return { pipeline, seq, hash, recordedAt, mac };
}

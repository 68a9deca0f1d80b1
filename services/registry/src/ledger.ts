import { createHash } from 'node:crypto';
import type pg from 'pg';

type Q = pg.Pool | pg.PoolClient;

/** What a ledger entry records. */
export type LedgerKind = 'run-requested' | 'gate-verdict' | 'model-registered' | 'promotion' | 'alias-moved' | 'rollback' | 'manual-override';

/** A ledger entry as stored (the hashed fields plus the chain). */
export type LedgerEntry = {
  pipeline: string;
  seq: number;
  kind: LedgerKind;
  runId: string;
  actor: string;
  summary: string;
  details: unknown;
  recordedAt: string;
  prevHash: string;
  hash: string;
};

/** The previous hash of a pipeline's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level, so equal values always serialize the same way. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256(prevHash || canonical JSON of every field but the hash itself), hex. */
export function entryHash(e: Omit<LedgerEntry, 'hash'> & { hash?: string }): string {
  const { prevHash, pipeline, seq, kind, runId, actor, summary, details, recordedAt } = e;
  return createHash('sha256').update(prevHash).update(canonicalJson({ pipeline, seq, kind, runId, actor, summary, details, recordedAt })).digest('hex');
}

/** The outcome of {@link verifyChain}. */
export type ChainCheck = { ok: boolean; entries: number; firstBadSeq: number; problem: string; headHash: string };

/**
 * Walks a pipeline's entries in order and reports the first that breaks the chain: a gap in the
 * numbering (a removed row), a previous hash that is not its predecessor's hash (a removed or
 * reordered row), or a hash that does not match the contents (an edited row).
 */
export function verifyChain(entries: readonly LedgerEntry[]): ChainCheck {
  let prev = GENESIS_HASH;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const bad = (problem: string): ChainCheck => ({ ok: false, entries: entries.length, firstBadSeq: e.seq, problem: `entry ${e.seq}: ${problem}`, headHash: entries.at(-1)?.hash ?? GENESIS_HASH });
    if (e.seq !== i + 1) return bad(`expected entry number ${i + 1}: an entry before it is missing`);
    if (e.prevHash !== prev) return bad(`its previous hash ${e.prevHash.slice(0, 12)}… is not entry ${i}'s hash ${prev.slice(0, 12)}…`);
    const actual = entryHash(e);
    if (actual !== e.hash) return bad(`its contents hash to ${actual.slice(0, 12)}…, not the recorded ${e.hash.slice(0, 12)}…: it was edited after it was written`);
    prev = e.hash;
  }
  return { ok: true, entries: entries.length, firstBadSeq: 0, problem: '', headHash: prev };
}

type Row = { pipeline: string; seq: string; kind: LedgerKind; run_id: string; actor: string; summary: string; details: unknown; recorded_at: string; prev_hash: string; hash: string };

const fromRow = (r: Row): LedgerEntry => ({
  pipeline: r.pipeline,
  seq: Number(r.seq),
  kind: r.kind,
  runId: r.run_id,
  actor: r.actor,
  summary: r.summary,
  details: r.details,
  recordedAt: r.recorded_at,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/**
 * Appends an entry to a pipeline's ledger inside the caller's transaction (entries of one
 * pipeline are serialized by an advisory lock, so the chain never forks).
 */
export async function appendLedger(
  tx: pg.PoolClient,
  e: { pipeline: string; kind: LedgerKind; runId?: string; actor: string; summary: string; details?: unknown },
  now: Date = new Date(),
): Promise<LedgerEntry> {
  await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`ledger:${e.pipeline}`]);
  const last = (await tx.query<{ seq: string; hash: string }>('select seq, hash from ledger where pipeline = $1 order by seq desc limit 1', [e.pipeline])).rows[0];
  // Round-trip the details through JSON so what is hashed is exactly what jsonb gives back.
  const details = JSON.parse(canonicalJson(e.details ?? {})) as unknown;
  const fields = { pipeline: e.pipeline, seq: last ? Number(last.seq) + 1 : 1, kind: e.kind, runId: e.runId ?? '', actor: e.actor, summary: e.summary, details, recordedAt: now.toISOString(), prevHash: last?.hash ?? GENESIS_HASH };
  const entry = { ...fields, hash: entryHash(fields) };
  await tx.query(
    `insert into ledger (pipeline, seq, kind, run_id, actor, summary, details, recorded_at, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [entry.pipeline, entry.seq, entry.kind, entry.runId, entry.actor, entry.summary, JSON.stringify(entry.details), entry.recordedAt, entry.prevHash, entry.hash],
  );
  return entry;
}

/** A pipeline's ledger, oldest first; only one run's entries when `runId` is given. */
export async function readLedger(db: Q, pipeline: string, runId?: string): Promise<LedgerEntry[]> {
  const r = runId
    ? await db.query<Row>('select * from ledger where pipeline = $1 and run_id = $2 order by seq', [pipeline, runId])
    : await db.query<Row>('select * from ledger where pipeline = $1 order by seq', [pipeline]);
  return r.rows.map(fromRow);
}

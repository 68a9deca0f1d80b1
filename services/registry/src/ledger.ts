import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { LedgerKey } from './ledger-key.js';

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
  /** HMAC-SHA256 of `hash` under the ledger key (hex); undefined when recorded without a key. */
  mac?: string;
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
 *
 * @param after - the entry the given ones follow (default: none, they start at entry 1).
 */
export function verifyChain(entries: readonly LedgerEntry[], after: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }): ChainCheck {
  let prev = after.hash;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const expected = after.seq + i + 1;
    const bad = (problem: string): ChainCheck => ({ ok: false, entries: entries.length, firstBadSeq: e.seq, problem: `entry ${e.seq}: ${problem}`, headHash: entries.at(-1)?.hash ?? GENESIS_HASH });
    if (e.seq !== expected) return bad(`expected entry number ${expected}: an entry before it is missing`);
    if (e.prevHash !== prev) return bad(`its previous hash ${e.prevHash.slice(0, 12)}… is not entry ${expected - 1}'s hash ${prev.slice(0, 12)}…`);
    const actual = entryHash(e);
    if (actual !== e.hash) return bad(`its contents hash to ${actual.slice(0, 12)}…, not the recorded ${e.hash.slice(0, 12)}…: it was edited after it was written`);
    prev = e.hash;
  }
  return { ok: true, entries: entries.length, firstBadSeq: 0, problem: '', headHash: prev };
}

/** HMAC-SHA256 of an entry's hash (hex) under the ledger key: what only the registry can compute. */
export function entryMac(key: LedgerKey, hash: string): string {
  return createHmac('sha256', key).update(hash).digest('hex');
}

/** True when the hex MAC `mac` equals the `expected` one (compared in constant time). */
export function macMatches(expected: string, mac: string): boolean {
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(mac, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** The outcome of {@link verifyMacs}. */
export type MacCheck = { ok: boolean; unanchored: number; firstBadSeq: number; problem: string };

/**
 * Checks every entry's MAC (assumes the chain verified). Entries without a MAC are accepted only
 * as a leading run (recorded before anchoring was turned on) when `allowUnanchoredPrefix`; once an
 * entry carries a MAC every later one must, or stripping MACs would pass off a rewritten tail.
 */
export function verifyMacs(entries: readonly LedgerEntry[], key: LedgerKey, opts: { allowUnanchoredPrefix: boolean }): MacCheck {
  let unanchored = 0;
  let anchoredSeen = !opts.allowUnanchoredPrefix;
  for (const e of entries) {
    const bad = (problem: string): MacCheck => ({ ok: false, unanchored, firstBadSeq: e.seq, problem: `entry ${e.seq}: ${problem}` });
    if (!e.mac) {
      if (!anchoredSeen) {
        unanchored++;
        continue;
      }
      return bad('it carries no MAC although the entries before it are anchored: it was written or rewritten without the ledger key');
    }
    if (!macMatches(entryMac(key, e.hash), e.mac)) return bad('its MAC does not match its hash: it was rewritten, and the chain recomputed, by someone without the ledger key');
    anchoredSeen = true;
  }
  return { ok: true, unanchored, firstBadSeq: 0, problem: '' };
}

type Row = { pipeline: string; seq: string; kind: LedgerKind; run_id: string; actor: string; summary: string; details: unknown; recorded_at: string; prev_hash: string; hash: string; mac: string | null };

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
  ...(r.mac ? { mac: r.mac } : {}),
});

/**
 * Appends an entry to a pipeline's ledger inside the caller's transaction (entries of one
 * pipeline are serialized by an advisory lock, so the chain never forks). With a ledger key the
 * entry gets its MAC and is queued for a checkpoint, which the checkpointer writes after the
 * commit; without one (development) it is only chained.
 */
export async function appendLedger(
  tx: pg.PoolClient,
  key: LedgerKey | undefined,
  e: { pipeline: string; kind: LedgerKind; runId?: string; actor: string; summary: string; details?: unknown },
  now: Date = new Date(),
): Promise<LedgerEntry> {
  await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`ledger:${e.pipeline}`]);
  const last = (await tx.query<{ seq: string; hash: string }>('select seq, hash from ledger where pipeline = $1 order by seq desc limit 1', [e.pipeline])).rows[0];
  // Round-trip the details through JSON so what is hashed is exactly what jsonb gives back.
  const details = JSON.parse(canonicalJson(e.details ?? {})) as unknown;
  const fields = { pipeline: e.pipeline, seq: last ? Number(last.seq) + 1 : 1, kind: e.kind, runId: e.runId ?? '', actor: e.actor, summary: e.summary, details, recordedAt: now.toISOString(), prevHash: last?.hash ?? GENESIS_HASH };
  const hash = entryHash(fields);
  const entry: LedgerEntry = key ? { ...fields, hash, mac: entryMac(key, hash) } : { ...fields, hash };
  await tx.query(
    `insert into ledger (pipeline, seq, kind, run_id, actor, summary, details, recorded_at, prev_hash, hash, mac) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [entry.pipeline, entry.seq, entry.kind, entry.runId, entry.actor, entry.summary, JSON.stringify(entry.details), entry.recordedAt, entry.prevHash, entry.hash, entry.mac ?? null],
  );
  if (key) await tx.query('insert into ledger_checkpoint_due (pipeline, seq) values ($1, $2)', [entry.pipeline, entry.seq]);
  return entry;
}

/** A pipeline's ledger, oldest first; only one run's entries when `runId` is given. */
export async function readLedger(db: Q, pipeline: string, runId?: string): Promise<LedgerEntry[]> {
  const r = runId
    ? await db.query<Row>('select * from ledger where pipeline = $1 and run_id = $2 order by seq', [pipeline, runId])
    : await db.query<Row>('select * from ledger where pipeline = $1 order by seq', [pipeline]);
  return r.rows.map(fromRow);
}

/**
 * A pipeline's entries from `fromSeq` on, oldest first; when the table ends before `fromSeq`, its
 * last entry only (so the caller always sees where the table ends). Empty when it has none.
 */
export async function readLedgerFrom(db: Q, pipeline: string, fromSeq: number): Promise<LedgerEntry[]> {
  const r = await db.query<Row>(
    'select * from ledger where pipeline = $1 and seq >= least($2, (select coalesce(max(seq), 0) from ledger where pipeline = $1)) order by seq',
    [pipeline, fromSeq],
  );
  return r.rows.map(fromRow);
}

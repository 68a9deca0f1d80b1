import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkpointMacOk, checkpointPath, checkpointSeqOf, decodeCheckpoint, encodeCheckpoint, makeCheckpoint, type Checkpoint } from './checkpoint.js';
import { canonicalJson, entryHash, entryMac, GENESIS_HASH, macMatches, verifyChain, type LedgerEntry } from './ledger.js';
import { ledgerKeyFrom, type LedgerKey } from './ledger-key.js';
import { ANCHORING_OFF, judgeLedger } from './ledger-verdict.js';

function chain(n: number): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (let i = 1; i <= n; i++) {
    const fields = { pipeline: 'p', seq: i, kind: 'run-requested' as const, runId: `r-${i}`, actor: 'trigger:manual', summary: `run r-${i}`, details: { n: i, z: [1, { b: 2, a: 1 }] }, recordedAt: `2026-01-0${i}T00:00:00.000Z`, prevHash: out.at(-1)?.hash ?? GENESIS_HASH };
    out.push({ ...fields, hash: entryHash(fields) });
  }
  return out;
}

describe('the ledger hash chain', () => {
  it('serializes objects the same way whatever their key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }], e: undefined })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
  });

  it('verifies an intact chain and names its head', () => {
    const c = chain(4);
    expect(verifyChain(c)).toEqual({ ok: true, entries: 4, firstBadSeq: 0, problem: '', headHash: c[3].hash });
    expect(verifyChain([])).toMatchObject({ ok: true, entries: 0, headHash: GENESIS_HASH });
  });

  it('finds the first edited, removed or reordered entry', () => {
    const edited = chain(4);
    edited[2] = { ...edited[2], details: { n: 99, z: [] } };
    expect(verifyChain(edited)).toMatchObject({ ok: false, firstBadSeq: 3 });
    expect(verifyChain(edited).problem).toContain('it was edited after it was written');

    const removed = chain(4).filter((e) => e.seq !== 2);
    expect(verifyChain(removed)).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'entry 3: expected entry number 2: an entry before it is missing' });

    // Rewriting the hashes after an edit still breaks the link to the untouched successor.
    const rehashed = chain(4);
    const forged = { ...rehashed[1], summary: 'forged' };
    rehashed[1] = { ...forged, hash: entryHash(forged) };
    expect(verifyChain(rehashed)).toMatchObject({ ok: false, firstBadSeq: 3 });
    expect(verifyChain(rehashed).problem).toMatch(/^entry 3: its previous hash [0-9a-f]{12}… is not entry 2's hash/);
  });
});

const KEY_BYTES = Buffer.alloc(32, 7);
const key = ledgerKeyFrom(KEY_BYTES, 'test');
const otherKey = ledgerKeyFrom(Buffer.alloc(32, 8), 'test');

/** `chain(n)` with a MAC on every entry from `anchoredFrom` on (default all). */
function anchored(n: number, anchoredFrom = 1): LedgerEntry[] {
  return chain(n).map((e) => (e.seq >= anchoredFrom ? { ...e, mac: entryMac(key, e.hash) } : e));
}

/** Recomputes the hashes (and, given a key, the MACs) of `entries` from index `from` on, as someone holding the hash function would. */
function rechain(entries: LedgerEntry[], from: number, withKey?: LedgerKey): LedgerEntry[] {
  const out = entries.slice(0, from);
  for (const e of entries.slice(from)) {
    const fields = { ...e, prevHash: out.at(-1)?.hash ?? GENESIS_HASH };
    const hash = entryHash(fields);
    out.push({ ...fields, hash, mac: withKey ? entryMac(withKey, hash) : e.mac });
  }
  return out;
}

const judge = (entries: LedgerEntry[], checkpoint?: Checkpoint) => judgeLedger(entries, { pipeline: 'p', key, checkpoint });

describe('anchoring the ledger: entry MACs and checkpoints', () => {
  it('takes a key of at least 32 bytes and MACs an entry as HMAC-SHA256 of its hash', () => {
    expect(() => ledgerKeyFrom(Buffer.alloc(31), '/run/secrets/ledger.key')).toThrow('REFIT_LEDGER_KEY file /run/secrets/ledger.key holds 31 bytes; the ledger key needs at least 32 random bytes');
    const hash = chain(1)[0].hash;
    expect(entryMac(key, hash)).toBe(createHmac('sha256', KEY_BYTES).update(hash).digest('hex'));
    expect(entryMac(otherKey, hash)).not.toBe(entryMac(key, hash));
    expect(macMatches(entryMac(key, hash), entryMac(key, hash))).toBe(true);
    expect(macMatches(entryMac(key, hash), 'not hex')).toBe(false);
  });

  it('names a checkpoint by its zero-padded entry number and reads back only what it wrote', () => {
    const head = anchored(9)[8];
    const cp = makeCheckpoint(key, head);
    expect(cp).toEqual({ pipeline: 'p', seq: 9, hash: head.hash, recordedAt: head.recordedAt, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(checkpointPath('p', 9)).toBe('ledger/p/checkpoints/000000000009.json');
    expect(checkpointSeqOf(checkpointPath('p', 1234))).toBe(1234);
    expect(checkpointSeqOf('ledger/p/checkpoints/notes.txt')).toBeUndefined();
    // The same entry always gives the same bytes, so replicas racing to write it write one object.
    expect(encodeCheckpoint(makeCheckpoint(key, head))).toBe(encodeCheckpoint(cp));
    expect(decodeCheckpoint(encodeCheckpoint(cp), checkpointPath('p', 9))).toEqual(cp);
    expect(checkpointMacOk(key, cp)).toBe(true);
    expect(checkpointMacOk(otherKey, cp)).toBe(false);
    expect(checkpointMacOk(key, { ...cp, seq: 10 })).toBe(false);
    expect(() => decodeCheckpoint(encodeCheckpoint(cp), checkpointPath('p', 12))).toThrow('ledger/p/checkpoints/000000000012.json is not a ledger checkpoint: it records entry 9, not the one its name says');
    expect(() => decodeCheckpoint('{"seq":', checkpointPath('p', 9))).toThrow(/not JSON$/);
  });

  it('verifies an anchored ledger against its newest checkpoint, and asks to checkpoint a head newer than it', () => {
    const entries = anchored(6);
    expect(judge(entries, makeCheckpoint(key, entries[5]))).toMatchObject({ ok: true, anchored: true, unanchored: 0, notes: [], checkpointHead: false, missingFrom: 0 });
    // The registry stopped between a commit and its checkpoint: fine, the head gets one.
    expect(judge(entries, makeCheckpoint(key, entries[3]))).toMatchObject({ ok: true, checkpointHead: true });
    expect(judge(entries)).toMatchObject({ ok: true, checkpointHead: true });
  });

  it('names the entries missing when the last ones were removed', () => {
    const entries = anchored(9);
    const cp = makeCheckpoint(key, entries[8]);
    const cut = judge(entries.slice(0, 6), cp);
    expect(cut).toMatchObject({ ok: false, firstBadSeq: 7, missingFrom: 7, missingTo: 9, checkpoint: cp });
    expect(cut.problem).toBe(`entries 7–9 are missing: the checkpoint taken at ${entries[8].recordedAt} records entry 9 (hash ${entries[8].hash.slice(0, 12)}…) but the table ends at entry 6`);
    expect(judge(entries.slice(0, 8), cp).problem).toMatch(/^entry 9 is missing: the checkpoint taken at .* but the table ends at entry 8$/);
    expect(judge([], cp)).toMatchObject({ ok: false, missingFrom: 1, missingTo: 9, problem: expect.stringMatching(/but the table has no entries$/) });
  });

  it('catches a chain recomputed after an edit at the MAC of the edited entry, and MACs stripped off a rewritten tail', () => {
    const entries = anchored(6);
    const edited = entries.map((e) => (e.seq === 4 ? { ...e, summary: 'forged' } : e));
    const rewritten = rechain(edited, 3);
    expect(verifyChain(rewritten).ok).toBe(true);
    expect(judge(rewritten, makeCheckpoint(key, entries[5]))).toMatchObject({
      ok: false,
      firstBadSeq: 4,
      problem: 'entry 4: its MAC does not match its hash: it was rewritten, and the chain recomputed, by someone without the ledger key',
    });
    // MACs made with another key are no better than none.
    expect(judge(rechain(edited, 3, otherKey))).toMatchObject({ ok: false, firstBadSeq: 4 });
    const stripped = rewritten.map((e) => (e.seq >= 4 ? { ...e, mac: undefined } : e));
    expect(judge(stripped)).toMatchObject({ ok: false, firstBadSeq: 4, problem: expect.stringMatching(/^entry 4: it carries no MAC although the entries before it are anchored/) });
    // Without the key, the same ledger passes: only the chain is checked, and the verdict says so.
    expect(judgeLedger(rewritten, { pipeline: 'p', key: undefined, checkpoint: undefined })).toMatchObject({ ok: true, anchored: false, notes: [ANCHORING_OFF] });
    expect(ANCHORING_OFF).toMatch(/^anchoring is off: set REFIT_LEDGER_KEY/);
  });

  it('catches a ledger cut and grown again past its checkpoint, and a checkpoint not made with the key', () => {
    const entries = anchored(6);
    const cp = makeCheckpoint(key, entries[4]);
    // Cut after entry 3, then the registry (holding the key) recorded new entries 4–6.
    const regrown = rechain(entries.map((e) => (e.seq > 3 ? { ...e, summary: `new ${e.seq}` } : e)), 3, key);
    const v = judge(regrown, cp);
    expect(v).toMatchObject({ ok: false, firstBadSeq: 5, missingFrom: 0 });
    expect(v.problem).toBe(`entry 5 is not the one the checkpoint taken at ${cp.recordedAt} records: its hash is ${regrown[4].hash.slice(0, 12)}…, the checkpoint's ${cp.hash.slice(0, 12)}…: the ledger was cut and written again after it`);
    expect(judge(entries, makeCheckpoint(otherKey, entries[5])).problem).toMatch(/does not carry this registry's MAC: it was not written with the ledger key$/);
    expect(judgeLedger(entries, { pipeline: 'q', key, checkpoint: cp }).problem).toMatch(/^the newest checkpoint is of pipeline 'p', not 'q'/);
  });

  it('reports entries recorded before anchoring was turned on as unanchored, not as an error', () => {
    const entries = anchored(5, 3);
    expect(judge(entries, makeCheckpoint(key, entries[4]))).toMatchObject({ ok: true, unanchored: 2, notes: ['entries 1–2 were written before anchoring was turned on: only the hash chain vouches for them'] });
    expect(judge(anchored(2, 2)).notes).toEqual(['entry 1 was written before anchoring was turned on: only the hash chain vouches for it']);
    // Nothing anchored yet: nothing to checkpoint, which the verdict says.
    expect(judge(chain(3))).toMatchObject({ ok: true, unanchored: 3, checkpointHead: false, notes: [expect.any(String), 'no entry is anchored yet: the next decision recorded will be'] });
  });

  it('judges the entries from the checkpoint on, as the checkpointer reads them', () => {
    const entries = anchored(8);
    const cp = makeCheckpoint(key, entries[4]);
    const fromCheckpoint = (es: LedgerEntry[]) => judgeLedger(es, { pipeline: 'p', key, checkpoint: cp, fromCheckpoint: true });
    expect(fromCheckpoint(entries.slice(4))).toMatchObject({ ok: true, checkpointHead: true });
    expect(fromCheckpoint(entries.slice(4, 5))).toMatchObject({ ok: true, checkpointHead: false });
    // When the table ends before the checkpoint, the checkpointer reads just its last entry.
    expect(fromCheckpoint(entries.slice(2, 3))).toMatchObject({ ok: false, missingFrom: 4, missingTo: 5 });
    // After a checkpoint, an entry without a MAC is never a pre-anchoring one.
    expect(fromCheckpoint([...entries.slice(4, 7), { ...entries[7], mac: undefined }])).toMatchObject({ ok: false, firstBadSeq: 8 });
    const edited = rechain(entries.map((e) => (e.seq === 7 ? { ...e, summary: 'forged' } : e)), 6);
    expect(fromCheckpoint(edited.slice(4))).toMatchObject({ ok: false, firstBadSeq: 7 });
  });
});

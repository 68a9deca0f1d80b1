import { describe, expect, it } from 'vitest';
import { canonicalJson, entryHash, GENESIS_HASH, verifyChain, type LedgerEntry } from './ledger.js';

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

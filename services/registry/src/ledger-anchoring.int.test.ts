import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryService, Verdict } from '@refit/contracts';
import { createClient, EVENTS, withTransaction, wireRef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { appendLedger, entryHash, readLedger, verifyChain, type LedgerEntry } from './ledger.js';
import { readLedgerKey } from './ledger-key.js';
import { startRegistryService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(await readFile(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));

// The layout is part of the contract (operators protect this prefix), so the test spells it out.
const checkpointKey = (pipeline: string, seq: number): string => `ledger/${pipeline}/checkpoints/${String(seq).padStart(12, '0')}.json`;

/** A registry runtime on a fresh test env, with `extra` variables (the ledger key) in its config. */
async function startRegistry(name: string, extra: Record<string, string>) {
  const env = await createTestEnv({ name });
  const config = loadConfig(serviceEnv(env.env, extra));
  const rt = await startTestRuntime(config, migrations);
  await startRegistryService(rt, config);
  const client = createClient(RegistryService, rt.server?.address ?? '');
  return { env, rt, client };
}

/** Publishes `n` run.requested events of `pipeline` and waits until the registry recorded them all. */
async function requestRuns(rt: ServiceRuntime, pipeline: string, n: number): Promise<LedgerEntry[]> {
  const before = (await readLedger(rt.pool, pipeline)).length;
  for (let i = 1; i <= n; i++) {
    const runId = `${pipeline}-${before + i}`;
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runRequested, { context: { runId, pipeline, triggerKind: 'manual', triggerReason: `test ${runId}` } }, { runId }));
  }
  rt.relay.kick();
  return waitFor(async () => {
    const entries = await readLedger(rt.pool, pipeline);
    return entries.length === before + n && entries;
  }, { what: `${n} run-requested entries of ${pipeline}` });
}

describe('the decision ledger anchored with REFIT_LEDGER_KEY', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof RegistryService>>;
  let keyDir: string;

  /** Waits for the checkpoint of `entry` in the object store and returns it. */
  const checkpointOf = (entry: LedgerEntry) =>
    waitFor(async () => (await rt.store.exists(checkpointKey(entry.pipeline, entry.seq))) && (JSON.parse((await rt.store.get(checkpointKey(entry.pipeline, entry.seq))).toString('utf8')) as Record<string, unknown>), {
      what: `the checkpoint of entry ${entry.seq} of ${entry.pipeline}`,
    });

  /** Feeds the registry a model.evaluated of `runId` and waits for its model.registered entry. */
  async function evaluated(runId: string, verdict: Verdict): Promise<void> {
    const model = await rt.store.putContentAddressed(`pipelines/${spec.name}/models`, Buffer.from(`model of ${runId}`), '.refitm');
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: `test ${runId}` };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelEvaluated, { context, lineage: { model: wireRef(model), seed: 1n }, verdict, reasons: ['test'], candidateMetrics: { accuracy: 0.7 } }, { runId }));
    rt.relay.kick();
    await waitFor(async () => (await readLedger(rt.pool, spec.name, runId)).some((e) => e.kind === 'model-registered'), { what: `the registration of ${runId}` });
  }

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'refit-ledger-key-'));
    await writeFile(join(keyDir, 'ledger.key'), randomBytes(32), { mode: 0o600 });
    ({ env, rt, client } = await startRegistry('registry-ledger', { REFIT_LEDGER_KEY: join(keyDir, 'ledger.key') }));
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('a normal ledger verifies ok and anchored: every entry carries a MAC and its head is checkpointed in the object store', async () => {
    await requestRuns(rt, spec.name, 1);
    await evaluated(`${spec.name}-1`, Verdict.PASS);
    await evaluated('second', Verdict.PASS);
    // A manual override through SetAlias is anchored like the decisions recorded from events.
    await client.setAlias({ pipeline: spec.name, alias: 'champion', version: 'v1', actor: 'alice', reason: 'v2 misbehaves' });
    const entries = await readLedger(rt.pool, spec.name);
    const head = entries.at(-1) as LedgerEntry;
    expect(head.kind).toBe('alias-moved');
    const macs = await rt.pool.query<{ mac: string | null }>('select mac from ledger where pipeline = $1 order by seq', [spec.name]);
    expect(macs.rows.map((r) => r.mac)).toEqual(entries.map(() => expect.stringMatching(/^[0-9a-f]{64}$/)));

    expect(await checkpointOf(head)).toEqual({ pipeline: spec.name, seq: head.seq, hash: head.hash, recordedAt: head.recordedAt, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await client.verifyLedger({ pipeline: spec.name })).toMatchObject({
      ok: true,
      entries: BigInt(entries.length),
      firstBadSeq: 0n,
      problem: '',
      headHash: head.hash,
      anchored: true,
      unanchoredEntries: 0n,
      checkpointSeq: BigInt(head.seq),
      checkpointRecordedAt: head.recordedAt,
      missingFrom: 0n,
      missingTo: 0n,
      note: '',
    });
  });

  it('deleting the last entries behind the registry’s back fails verification, naming the missing entries; the cut ledger is never checkpointed again', async () => {
    const pipeline = 'cut';
    const entries = await requestRuns(rt, pipeline, 5);
    const last = entries[4];
    await checkpointOf(last);
    // An attacker with database access drops the guard and removes the last two decisions.
    await withTransaction(rt.pool, async (tx) => {
      await tx.query('alter table ledger disable trigger ledger_append_only');
      await tx.query('delete from ledger where pipeline = $1 and seq > 3', [pipeline]);
      await tx.query('alter table ledger enable trigger ledger_append_only');
    });
    expect(verifyChain(await readLedger(rt.pool, pipeline)).ok).toBe(true);

    const v = await client.verifyLedger({ pipeline });
    expect(v).toMatchObject({ ok: false, entries: 3n, firstBadSeq: 4n, anchored: true, checkpointSeq: 5n, missingFrom: 4n, missingTo: 5n });
    expect(v.problem).toBe(`entries 4–5 are missing: the checkpoint taken at ${last.recordedAt} records entry 5 (hash ${last.hash.slice(0, 12)}…) but the table ends at entry 3`);

    // The registry goes on recording; regrown to five entries (with valid MACs) the ledger still
    // differs from what the checkpoint saw, and the checkpoint is never overwritten.
    const regrown = await requestRuns(rt, pipeline, 2);
    const again = await client.verifyLedger({ pipeline });
    expect(again).toMatchObject({ ok: false, entries: 5n, firstBadSeq: 5n, checkpointSeq: 5n, missingFrom: 0n });
    expect(again.problem).toBe(`entry 5 is not the one the checkpoint taken at ${last.recordedAt} records: its hash is ${regrown[4].hash.slice(0, 12)}…, the checkpoint's ${last.hash.slice(0, 12)}…: the ledger was cut and written again after it`);
    expect((await checkpointOf(last)).hash).toBe(last.hash);
    // The checkpointer has looked at the regrown entries (nothing is due any more) and refused them.
    await waitFor(async () => (await rt.pool.query('select 1 from ledger_checkpoint_due where pipeline = $1', [pipeline])).rowCount === 0, { what: 'the checkpointer' });
    expect((await rt.store.list(`ledger/${pipeline}/checkpoints/`)).at(-1)).toBe(checkpointKey(pipeline, 5));
  });

  it('rewriting an entry and recomputing every later hash with the registry’s own entryHash fails at the MAC of the rewritten entry', async () => {
    const pipeline = 'rewritten';
    const entries = await requestRuns(rt, pipeline, 5);
    await checkpointOf(entries[4]);
    // Someone with database access rewrites decision 3 and recomputes the chain after it, so the
    // chain alone looks intact.
    await withTransaction(rt.pool, async (tx) => {
      await tx.query('alter table ledger disable trigger ledger_append_only');
      let prevHash = entries[1].hash;
      for (const e of entries.slice(2)) {
        const forged = { ...e, summary: e.seq === 3 ? 'nothing was requested' : e.summary, prevHash };
        const hash = entryHash(forged);
        await tx.query('update ledger set summary = $3, prev_hash = $4, hash = $5 where pipeline = $1 and seq = $2', [pipeline, e.seq, forged.summary, prevHash, hash]);
        prevHash = hash;
      }
      await tx.query('alter table ledger enable trigger ledger_append_only');
    });
    expect(verifyChain(await readLedger(rt.pool, pipeline)).ok).toBe(true);

    const v = await client.verifyLedger({ pipeline });
    expect(v).toMatchObject({ ok: false, entries: 5n, firstBadSeq: 3n, anchored: true });
    expect(v.problem).toBe('entry 3: its MAC does not match its hash: it was rewritten, and the chain recomputed, by someone without the ledger key');
  });

  it('a head committed without its checkpoint (the registry stopped in between) is checkpointed by the next verify', async () => {
    const pipeline = 'crashed';
    const entries = await requestRuns(rt, pipeline, 2);
    await checkpointOf(entries[1]);
    // Entry 3 committed, but its queued checkpoint is lost before the checkpointer ran.
    const key = await readLedgerKey(join(keyDir, 'ledger.key'));
    const third = await withTransaction(rt.pool, async (tx) => {
      const e = await appendLedger(tx, key, { pipeline, kind: 'rollback', actor: 'deployer', summary: 'rolled back' });
      await tx.query('delete from ledger_checkpoint_due where pipeline = $1', [pipeline]);
      return e;
    });
    expect(await rt.store.exists(checkpointKey(pipeline, 3))).toBe(false);
    expect(await client.verifyLedger({ pipeline })).toMatchObject({ ok: true, entries: 3n, anchored: true, checkpointSeq: 3n, checkpointRecordedAt: third.recordedAt });
    expect(await checkpointOf(third)).toMatchObject({ seq: 3, hash: third.hash });
  });

  it('entries written before anchoring was turned on are reported as unanchored, not as an error', async () => {
    const pipeline = 'older';
    // Two decisions recorded by a registry that had no key yet.
    await withTransaction(rt.pool, async (tx) => {
      await appendLedger(tx, undefined, { pipeline, kind: 'rollback', actor: 'deployer', summary: 'before anchoring 1' });
      await appendLedger(tx, undefined, { pipeline, kind: 'rollback', actor: 'deployer', summary: 'before anchoring 2' });
    });
    const entries = await requestRuns(rt, pipeline, 2);
    await checkpointOf(entries[3]);
    expect(await client.verifyLedger({ pipeline })).toMatchObject({
      ok: true,
      entries: 4n,
      anchored: true,
      unanchoredEntries: 2n,
      checkpointSeq: 4n,
      note: 'entries 1–2 were written before anchoring was turned on: only the hash chain vouches for them',
    });
  });
});

describe('the decision ledger without a key (development)', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof RegistryService>>;

  beforeAll(async () => {
    ({ env, rt, client } = await startRegistry('registry-ledger-dev', {}));
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('stores entries without a MAC, writes no checkpoint, and verify says the chain is intact but anchoring is off', async () => {
    const entries = await requestRuns(rt, 'dev', 2);
    const macs = await rt.pool.query<{ mac: string | null }>("select mac from ledger where pipeline = 'dev'");
    expect(macs.rows).toEqual([{ mac: null }, { mac: null }]);
    const v = await client.verifyLedger({ pipeline: 'dev' });
    expect(v).toMatchObject({ ok: true, entries: 2n, headHash: entries[1].hash, anchored: false, checkpointSeq: 0n });
    expect(v.note).toMatch(/^anchoring is off: set REFIT_LEDGER_KEY/);
    expect(await rt.store.list('ledger/')).toEqual([]);
  });
});

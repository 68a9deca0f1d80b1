import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryService, Verdict } from '@refit/contracts';
import { createClient, EVENTS, isConflict, isInvalidInput, isNotFound, withTransaction, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startRegistryService } from './service.js';
import { getAlias, moveAlias } from './store.js';
import { readLedger } from './ledger.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;

describe('registry service', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof RegistryService>>;

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  /** Feeds the registry a model.evaluated for `runId` (with a model artifact of its own) and returns its model.registered. */
  async function evaluated(runId: string, verdict: Verdict, accuracy: number) {
    const model = await rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, Buffer.from(`model of ${runId}`), '.refitm');
    const transform = await rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, Buffer.from(`transform of ${runId}`), '.json');
    const context = { runId, pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: `test ${runId}` };
    const reasons = [`${verdict === Verdict.PASS ? 'pass' : 'FAIL'}: accuracy ${accuracy.toFixed(4)} vs floor 0.6000`];
    await withTransaction(rt.pool, (tx) =>
      rt.publish(
        tx,
        EVENTS.modelEvaluated,
        { context, lineage: { model: wireRef(model), transform: wireRef(transform), seed: 42n, epochs: 3, featureNames: ['temp_max'] }, verdict, reasons, candidateMetrics: { accuracy } },
        { runId },
      ),
    );
    rt.relay.kick();
    return waitFor(async () => (await events(EVENTS.modelRegistered)).find((e) => e.context?.runId === runId), { what: `model.registered of ${runId}` });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'registry' });
    const config = loadConfig(serviceEnv(env.env));
    rt = await startTestRuntime(config, migrations);
    await startRegistryService(rt, config);
    client = createClient(RegistryService, rt.server?.address ?? '');
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('GetAlias is NOT_FOUND naming the pipeline while it has no champion', async () => {
    const err = await client.getAlias({ pipeline: PIPELINE, alias: 'champion' }).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toContain(`'${PIPELINE}'`);
    expect((err as Error).message).toContain("'champion'");
    expect(isInvalidInput(await client.getAlias({ pipeline: '', alias: 'champion' }).catch((e: unknown) => e))).toBe(true);
    expect((await client.listModels({ pipeline: PIPELINE })).models).toEqual([]);
  });

  it('registers a passing first candidate as v1 and makes it the champion', async () => {
    const reg = await evaluated('r-1', Verdict.PASS, 0.71);
    expect(reg).toMatchObject({ version: 'v1', promoted: true, previousChampion: '', verdict: Verdict.PASS });
    expect(reg.timing?.stage).toBe('registry');
    const { model } = await client.getAlias({ pipeline: PIPELINE, alias: 'champion' });
    expect(model).toMatchObject({ pipeline: PIPELINE, version: 'v1', runId: 'r-1', verdict: Verdict.PASS, aliases: ['champion'], triggerKind: 'manual', triggerReason: 'test r-1' });
    expect(model?.metrics).toEqual({ accuracy: 0.71 });
    expect(model?.reasons).toEqual(['pass: accuracy 0.7100 vs floor 0.6000']);
    expect(model?.promotedBy).toContain('r-1');
    // Lineage round-trips through the registry (JSON in Postgres) unchanged.
    expect(model?.lineage?.model?.key).toMatch(/^pipelines\/weather-rain\/models\/[0-9a-f]{64}\.refitm$/);
    expect(model?.lineage?.seed).toBe(42n);
    expect(model?.lineage?.epochs).toBe(3);
    const changed = await waitFor(async () => (await events(EVENTS.aliasChanged)).find((e) => e.runId === 'r-1'));
    expect(changed).toMatchObject({ pipeline: PIPELINE, alias: 'champion', version: 'v1', previousVersion: '' });
  });

  it('a failing candidate becomes v2 without moving the champion', async () => {
    const reg = await evaluated('r-2', Verdict.FAIL, 0.52);
    expect(reg).toMatchObject({ version: 'v2', promoted: false, previousChampion: '', verdict: Verdict.FAIL });
    expect((await client.getAlias({ pipeline: PIPELINE, alias: 'champion' })).model?.version).toBe('v1');
    const v2 = (await client.getModel({ pipeline: PIPELINE, version: 'v2' })).model;
    expect(v2).toMatchObject({ version: 'v2', verdict: Verdict.FAIL, aliases: [], promotedBy: '' });
    expect((await events(EVENTS.aliasChanged)).filter((e) => e.runId === 'r-2')).toEqual([]);
    const err = await client.getAlias({ pipeline: PIPELINE, alias: 'previous' }).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
  });

  it('a passing candidate becomes v3 and champion; the old champion becomes previous', async () => {
    const reg = await evaluated('r-3', Verdict.PASS, 0.74);
    expect(reg).toMatchObject({ version: 'v3', promoted: true, previousChampion: 'v1' });
    expect((await client.getAlias({ pipeline: PIPELINE, alias: 'champion' })).model?.version).toBe('v3');
    expect((await client.getAlias({ pipeline: PIPELINE, alias: 'previous' })).model?.version).toBe('v1');
    const changes = await waitFor(async () => {
      const found = (await events(EVENTS.aliasChanged)).filter((e) => e.runId === 'r-3');
      return found.length === 2 && found;
    });
    expect(changes.map((c) => [c.alias, c.version, c.previousVersion])).toEqual([
      ['champion', 'v3', 'v1'],
      ['previous', 'v1', ''],
    ]);
  });

  it('ListModels lists every version newest first with its aliases; a redelivered evaluation adds nothing', async () => {
    // The same run evaluated again (a new event for it) must not register a second version.
    await withTransaction(rt.pool, (tx) =>
      rt.publish(tx, EVENTS.modelEvaluated, { context: { runId: 'r-3', pipeline: PIPELINE, specJson: JSON.stringify(spec) }, verdict: Verdict.PASS }, { runId: 'r-3' }),
    );
    rt.relay.kick();
    await waitFor(async () => (await events(EVENTS.modelEvaluated)).filter((e) => e.context?.runId === 'r-3').length === 2);
    const jsm = await rt.nc.jetstreamManager();
    await waitFor(async () => {
      const info = await jsm.consumers.info(env.streamName, 'registry-model-evaluated');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });

    const { models } = await client.listModels({ pipeline: PIPELINE });
    expect(models.map((m) => [m.version, m.runId, m.aliases])).toEqual([
      ['v3', 'r-3', ['champion']],
      ['v2', 'r-2', []],
      ['v1', 'r-1', ['previous']],
    ]);
    expect((await events(EVENTS.modelRegistered)).filter((e) => e.context?.runId === 'r-3')).toHaveLength(1);
    expect((await client.listModels({ pipeline: 'other' })).models).toEqual([]);
    const missing = await client.getModel({ pipeline: PIPELINE, version: 'v9' }).catch((e: unknown) => e);
    expect(isNotFound(missing) && (missing as Error).message).toContain("'v9'");
  });

  it('of two concurrent moves of an alias from the same revision exactly one wins', async () => {
    const before = await getAlias(rt.pool, PIPELINE, 'champion');
    if (!before) throw new Error('no champion');
    const c1 = await rt.pool.connect();
    const c2 = await rt.pool.connect();
    try {
      await c1.query('begin');
      await c2.query('begin');
      const move = (db: typeof c1, version: string, runId: string) =>
        moveAlias(db, { pipeline: PIPELINE, alias: 'champion', version, expectedRevision: before.revision, runId, reason: `race ${runId}`, previousVersion: before.version });
      await move(c1, 'v2', 'race-1');
      // c2 blocks on c1's row lock, then sees the revision moved on and must lose.
      const second = move(c2, 'v1', 'race-2').then(
        () => 'won',
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 200));
      await c1.query('commit');
      const outcome = await second;
      expect(isConflict(outcome)).toBe(true);
      expect((outcome as Error).message).toContain(`'${PIPELINE}'`);
      await c2.query('rollback');
    } finally {
      c1.release();
      c2.release();
    }
    const after = await getAlias(rt.pool, PIPELINE, 'champion');
    expect(after).toMatchObject({ version: 'v2', revision: String(Number(before.revision) + 1) });
    const history = await rt.pool.query<{ run_id: string }>("select run_id from alias_history where run_id like 'race-%'");
    expect(history.rows).toEqual([{ run_id: 'race-1' }]);

    // Racing in separate transactions, many times, on an existing alias and on a new one.
    for (let i = 0; i < 10; i++) {
      const rev = (await getAlias(rt.pool, PIPELINE, 'champion'))?.revision;
      const alias = `canary-${i}`;
      const race = (version: string) =>
        Promise.allSettled([
          withTransaction(rt.pool, (tx) => moveAlias(tx, { pipeline: PIPELINE, alias: 'champion', version, expectedRevision: rev, runId: `loop-${i}`, reason: 'race' })),
          withTransaction(rt.pool, (tx) => moveAlias(tx, { pipeline: PIPELINE, alias, version, expectedRevision: undefined, runId: `loop-${i}`, reason: 'race' })),
        ]);
      const [a, b] = await Promise.all([race('v1'), race('v3')]);
      for (const k of [0, 1]) {
        const outcomes = [a[k], b[k]];
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(isConflict(lost?.reason)).toBe(true);
      }
      expect((await getAlias(rt.pool, PIPELINE, 'champion'))?.revision).toBe(String(Number(rev) + 1));
      expect((await getAlias(rt.pool, PIPELINE, alias))?.revision).toBe('1');
    }
  });

  it('records every decision of a run in the ledger, in order, with its evidence', async () => {
    const context = { runId: 'r-4', pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'drift', triggerReason: 'temp_min psi 0.67 > 0.25' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runRequested, { context }, { runId: 'r-4' }));
    rt.relay.kick();
    await waitFor(async () => (await client.listLedger({ pipeline: PIPELINE, runId: 'r-4' })).entries.length === 1, { what: 'the run-requested entry' });
    const champion = (await client.getAlias({ pipeline: PIPELINE, alias: 'champion' })).model?.version;
    await evaluated('r-4', Verdict.PASS, 0.8);

    const { entries } = await client.listLedger({ pipeline: PIPELINE, runId: 'r-4' });
    expect(entries.map((e) => [e.kind, e.actor])).toEqual([
      ['run-requested', 'trigger:drift'],
      ['gate-verdict', 'evaluator'],
      ['model-registered', 'registry'],
      ['promotion', 'evaluation gates of run r-4'],
      ['alias-moved', 'evaluation gates of run r-4'],
    ]);
    expect(entries.map((e) => e.summary)).toEqual([
      'run r-4 requested by the drift trigger: temp_min psi 0.67 > 0.25',
      'run r-4: the gates say pass (no champion yet)',
      'run r-4 registered as v4',
      `champion → v4 (was ${champion}): run r-4 passed its evaluation gates`,
      `previous → ${champion} (was v1): replaced as champion by v4`,
    ]);
    expect(JSON.parse(entries[1].detailsJson)).toMatchObject({ verdict: 'pass', reasons: ['pass: accuracy 0.8000 vs floor 0.6000'], candidateMetrics: { accuracy: 0.8 } });
    // The whole pipeline's ledger chains: each entry names its predecessor's hash.
    const all = (await client.listLedger({ pipeline: PIPELINE })).entries;
    expect(all.map((e) => Number(e.seq))).toEqual(all.map((_, i) => i + 1));
    all.slice(1).forEach((e, i) => expect(e.prevHash).toBe(all[i].hash));
    expect(await client.verifyLedger({ pipeline: PIPELINE })).toMatchObject({ ok: true, entries: BigInt(all.length), firstBadSeq: 0n, headHash: all.at(-1)?.hash });
  });

  it('a manual override is recorded with who and why; a stale revision loses; of two racing promotions exactly one wins', async () => {
    const before = await getAlias(rt.pool, PIPELINE, 'champion');
    const stale = await client.setAlias({ pipeline: PIPELINE, alias: 'champion', version: 'v1', expectedRevision: BigInt(before?.revision ?? 0) - 1n, actor: 'alice', reason: 'v4 misbehaves' }).catch((e: unknown) => e);
    expect(isConflict(stale)).toBe(true);
    expect(isInvalidInput(await client.setAlias({ pipeline: PIPELINE, alias: 'king', version: 'v1', actor: 'alice', reason: 'x' }).catch((e: unknown) => e))).toBe(true);
    expect(isInvalidInput(await client.setAlias({ pipeline: PIPELINE, alias: 'champion', version: 'v1', reason: '' }).catch((e: unknown) => e))).toBe(true);
    // A 1 MB reason is refused before anything is stored (it was kept whole in the ledger).
    const huge = await client.setAlias({ pipeline: PIPELINE, alias: 'champion', version: 'v1', expectedRevision: BigInt(before?.revision ?? 0), reason: 'x'.repeat(1 << 20) }).catch((e: unknown) => e);
    expect(isInvalidInput(huge) && (huge as Error).message).toMatch(/reason is 1,048,576 characters long; at most 4,096 \(REFIT_MAX_TEXT_CHARS\)/);

    const ok = await client.setAlias({ pipeline: PIPELINE, alias: 'champion', version: 'v1', expectedRevision: BigInt(before?.revision ?? 0), actor: 'alice', reason: 'v4 misbehaves' });
    expect(ok.revision).toBe(BigInt(before?.revision ?? 0) + 1n);
    expect(ok.model?.aliases).toContain('champion');
    const last = (await client.listLedger({ pipeline: PIPELINE })).entries.slice(-2);
    // Authentication is off in this file: the actor field is ignored and the caller is anonymous
    // (services/deployer/src/provenance.int.test.ts checks the actor with authentication on).
    const who = 'anonymous (authentication off)';
    expect(last.map((e) => [e.kind, e.actor, e.summary])).toEqual([
      ['manual-override', who, `champion → v1 (was ${before?.version}): manual override by ${who}: v4 misbehaves`],
      ['alias-moved', who, expect.stringMatching(/^previous → v4 /)],
    ]);
    await waitFor(async () => (await events(EVENTS.aliasChanged)).find((e) => e.alias === 'champion' && e.version === 'v1' && e.runId === ''), { what: 'alias.changed of the override' });

    // Two promotions from the same revision, at once: exactly one champion, one ALREADY_EXISTS.
    const rev = ok.revision;
    const race = await Promise.allSettled(
      ['v3', 'v4'].map((version) => client.setAlias({ pipeline: PIPELINE, alias: 'champion', version, expectedRevision: rev, actor: `bot-${version}`, reason: 'race' })),
    );
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(isConflict((race.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toBe(true);
    const winner = (race.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ model?: { version: string } }>).value.model?.version;
    const { models } = await client.listModels({ pipeline: PIPELINE });
    expect(models.filter((m) => m.aliases.includes('champion')).map((m) => m.version)).toEqual([winner]);
    expect((await client.listLedger({ pipeline: PIPELINE })).entries.filter((e) => e.kind === 'manual-override' && e.summary.endsWith('race'))).toHaveLength(1);
    expect((await client.verifyLedger({ pipeline: PIPELINE })).ok).toBe(true);
  });

  it('the ledger refuses edits, and an edit made behind its back is detected at the edited entry', async () => {
    await expect(rt.pool.query("update ledger set summary = 'nothing happened' where pipeline = $1 and seq = 2", [PIPELINE])).rejects.toThrow(/append-only/);
    await expect(rt.pool.query('delete from ledger where pipeline = $1', [PIPELINE])).rejects.toThrow(/append-only/);
    await expect(rt.pool.query("update models set verdict = 'pass' where pipeline = $1 and version = 'v2'", [PIPELINE])).rejects.toThrow(/immutable/);
    const entries = await readLedger(rt.pool, PIPELINE);
    const target = entries.find((e) => e.kind === 'gate-verdict' && e.runId === 'r-2');
    if (!target) throw new Error('no gate verdict of r-2');
    // Someone with the rights to drop the guard rewrites a failed verdict as a pass.
    await withTransaction(rt.pool, async (tx) => {
      await tx.query('alter table ledger disable trigger ledger_append_only');
      await tx.query(`update ledger set details = jsonb_set(details, '{verdict}', '"pass"') where pipeline = $1 and seq = $2`, [PIPELINE, target.seq]);
      await tx.query('alter table ledger enable trigger ledger_append_only');
    });
    const check = await client.verifyLedger({ pipeline: PIPELINE });
    expect(check).toMatchObject({ ok: false, firstBadSeq: BigInt(target.seq) });
    expect(check.problem).toMatch(new RegExp(`^entry ${target.seq}: its contents hash to [0-9a-f]{12}…, not the recorded ${target.hash.slice(0, 12)}…: it was edited after it was written$`));
    expect(isNotFound(await client.verifyLedger({ pipeline: 'no-such' }).catch((e: unknown) => e))).toBe(true);
  });
});

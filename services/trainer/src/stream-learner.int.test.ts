import { create, fromBinary } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelVersionSchema, refitFiles, RegistryService, TrainerService, type ModelVersion } from '@refit/contracts';
import { createRng } from '@refit/ml';
import { applyTransform, fitTransform, labelsOf, loadModel, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, isNotFound, NotFoundError, withTransaction, wireRef, type GrpcServer, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startStandIn, startTestRuntime, type TestEnv, waitFor, weatherRows } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type TrainerConfig } from './config.js';
import { startTrainerService } from './service.js';
import { getLearner } from './stream-store.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-stream.yaml'), 'utf8'));
// Replacements as often as the evidence allows (the example waits a week of stream time).
const specJson = JSON.stringify({ ...spec, triggers: spec.triggers.map((t) => (t.kind === 'continuous' && t.online ? { ...t, online: { ...t.online, minIntervalHours: 0 } } : t)) });
const DAY = 86_400_000;

/** A day's row as ingestion writes it to a segment's labeled rows: the row, its label a day later. */
const labeled = (r: RawRow) => {
  const { precipitation, ...row } = r;
  const at = new Date(String(r.date));
  return { id: `${r.location}-${r.date}`, at: at.toISOString(), labelAt: new Date(at.getTime() + DAY).toISOString(), row, label: precipitation };
};

describe('trainer: the online learner of a stream-fed pipeline', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let config: Readonly<TrainerConfig>;
  let registry: GrpcServer;
  let client: ReturnType<typeof createClient<typeof TrainerService>>;
  const champions = new Map<string, ModelVersion>();

  /** Writes one segment's labeled rows as ingestion does and announces it. */
  async function segment(pipeline: string, n: number, rows: RawRow[]): Promise<void> {
    const body = rows.map((r) => JSON.stringify(labeled(r))).join('\n');
    const ref = await rt.store.put(`pipelines/${pipeline}/stream/${String(n).padStart(8, '0')}.labeled.jsonl`, body);
    await withTransaction(rt.pool, (tx) =>
      rt.publish(tx, EVENTS.streamSegment, { pipeline, segment: BigInt(n), labeled: wireRef(ref), labelsJoined: BigInt(rows.length), rowsAccepted: BigInt(rows.length), specVersion: 1, specJson }),
    );
    rt.relay.kick();
  }

  const learnerAt = (pipeline: string, n: number) =>
    waitFor(async () => {
      const l = await getLearner(rt.pool, pipeline);
      return l && l.segment >= n ? l : undefined;
    }, { timeoutMs: 60_000, what: `${pipeline}'s learner at segment ${n}` });

  async function proven(pipeline: string) {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.streamProven.name}` });
    return stored.map((e) => fromBinary(EVENTS.streamProven.schema, e.data)).filter((e) => e.context?.pipeline === pipeline);
  }

  /** A first champion trained in batch on Seattle 2012, with its transform, as the registry would name it. */
  async function seattleChampion(pipeline: string): Promise<void> {
    const rows = weatherRows('Seattle', '2012-01-01', '2013-01-01') as RawRow[];
    const transform = fitTransform(rows, spec.features);
    const t = applyTransform(transform, rows);
    const out = await trainModel({ X: t.X, y: labelsOf(rows, spec.label), n: t.n, d: t.d, spec: spec.model });
    const model = await rt.store.putContentAddressed(`pipelines/${pipeline}/models`, await out.model.serialize(), '.refitm');
    const transformRef = await rt.store.putContentAddressed(`pipelines/${pipeline}/transforms`, serializeTransform(transform), '.json');
    out.model.dispose();
    champions.set(pipeline, create(ModelVersionSchema, { pipeline, version: 'v1', runId: 'r-batch', lineage: { model: wireRef(model), transform: wireRef(transformRef), featureNames: transform.outputNames } }));
  }

  const start = async () => {
    rt = await startTestRuntime(config, migrations);
    await startTrainerService(rt, config);
    client = createClient(TrainerService, rt.server?.address ?? '');
  };

  beforeAll(async () => {
    env = await createTestEnv({ name: 'trainer-stream' });
    registry = await startStandIn(
      RegistryService,
      {
      async getAlias({ pipeline }: { pipeline: string }) {
        const model = champions.get(pipeline);
        if (!model) throw new NotFoundError(`pipeline '${pipeline}' has no champion`);
        return { model };
      },
      },
      { files: refitFiles, name: 'fake-registry' },
    );
    config = loadConfig({ ...serviceEnv(env.env), REFIT_REGISTRY_ADDR: registry.address, REFIT_CODE_VERSION: 'test' });
    await start();
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registry?.stop(0);
    await env?.cleanup();
  });

  it('waits for a champion, then learns New York segment by segment and proves better than the Seattle champion with its evidence', async () => {
    const p = 'stream-ny';
    const ny = weatherRows('New York', '2014-01-01', '2016-01-01') as RawRow[];
    await segment(p, 1, ny.slice(0, 10));
    const waiting = await learnerAt(p, 1);
    expect(waiting).toMatchObject({ state: 'waiting', updates: 0 });
    expect(waiting.last_decision).toMatch(/no champion yet/);
    await seattleChampion(p);
    for (let s = 0; s * 30 < ny.length - 10; s++) await segment(p, s + 2, ny.slice(10 + s * 30, 10 + (s + 1) * 30));
    const last = 1 + Math.ceil((ny.length - 10) / 30);
    const done = await learnerAt(p, last);
    expect(done.rows_learned).toBe(ny.length - 10);
    const claims = await waitFor(async () => ((await proven(p)).length > 0 ? proven(p) : undefined), { what: 'a stream.proven' });
    const first = claims[0];
    expect(first.championVersion).toBe('v1');
    expect(first.evidence?.pValue).toBeLessThanOrEqual(first.evidence?.alpha ?? 0);
    expect(first.evidence?.lower).toBeGreaterThan(0);
    expect(first.evidence?.learnerLogLoss).toBeLessThan(first.evidence?.championLogLoss ?? 0);
    expect(first.context).toMatchObject({ pipeline: p, triggerKind: 'stream' });
    expect(first.context?.runId).toMatch(/^r-[0-9a-z]+-[0-9a-f]{6}$/);
    expect(first.lineage).toMatchObject({ streamStartedFrom: 'v1', transform: champions.get(p)?.lineage?.transform, featureNames: ['temp_max', 'temp_min', 'wind'] });
    // What the registry will serve loads and scores.
    const model = await loadModel(await rt.store.get(first.lineage?.model?.key ?? ''));
    expect(model.predict(new Float32Array([0.1, 0.2, -0.3]), 1)[0]).toBeGreaterThan(0);
    model.dispose();
    const status = await client.getLearner({ pipeline: p });
    expect(status).toMatchObject({ championVersion: 'v1', segment: BigInt(last), rowsLearned: BigInt(ny.length - 10) });
    expect(status.replacements).toBeGreaterThanOrEqual(1n);
    expect(status.evidence?.rows).toBeGreaterThan(0n);
    expect(isNotFound(await client.getLearner({ pipeline: 'no-such-stream' }).catch((e: unknown) => e))).toBe(true);
  });

  it('applies segments in order: one that comes before its predecessor waits for it', async () => {
    const p = 'stream-order';
    await seattleChampion(p);
    const rows = weatherRows('Seattle', '2013-01-01', '2013-03-01') as RawRow[];
    await segment(p, 1, rows.slice(0, 20));
    await learnerAt(p, 1);
    await segment(p, 3, rows.slice(40, 59));
    await segment(p, 2, rows.slice(20, 40));
    const l = await learnerAt(p, 3);
    expect(l.rows_learned).toBe(59);
  });

  it('a restart mid-stream loses nothing and doubles nothing: the learner ends exactly as one that never stopped', async () => {
    const rows = weatherRows('New York', '2014-01-01', '2014-07-01') as RawRow[];
    const parts = Array.from({ length: 6 }, (_, i) => rows.slice(i * 30, (i + 1) * 30));
    for (const p of ['stream-steady', 'stream-restarted']) await seattleChampion(p);
    // Same champion bytes for both, so both learners start from the same weights.
    const steadyChampion = champions.get('stream-steady');
    if (!steadyChampion) throw new Error('no champion');
    champions.set('stream-restarted', { ...steadyChampion, pipeline: 'stream-restarted' });
    for (let i = 0; i < parts.length; i++) await segment('stream-steady', i + 1, parts[i]);
    for (let i = 0; i < 3; i++) await segment('stream-restarted', i + 1, parts[i]);
    await learnerAt('stream-restarted', 2);
    // Stop while segment 3 may be in flight, publish the rest while it is down, start again.
    client.close();
    await rt.close();
    await start();
    for (let i = 3; i < parts.length; i++) await segment('stream-restarted', i + 1, parts[i]);
    const [steady, restarted] = await Promise.all([learnerAt('stream-steady', 6), learnerAt('stream-restarted', 6)]);
    expect(restarted.rows_learned).toBe(180);
    expect(restarted.updates).toBe(steady.updates);
    expect(restarted.judge).toEqual(steady.judge);
    expect(Buffer.compare(restarted.checkpoint ?? Buffer.alloc(0), steady.checkpoint ?? Buffer.alloc(1))).toBe(0);
  });

  it('never proves a learner fed shuffled labels, and resets it to the champion', async () => {
    const p = 'stream-shuffled';
    await seattleChampion(p);
    const rows = weatherRows('Seattle', '2013-01-01', '2016-01-01') as RawRow[];
    // The labels are permuted across days: they carry no signal the features could explain.
    const rng = createRng(11);
    const labels = rows.map((r) => r.precipitation);
    for (let i = labels.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [labels[i], labels[j]] = [labels[j], labels[i]];
    }
    const shuffled = rows.map((r, i) => ({ ...r, precipitation: labels[i] }));
    const n = Math.ceil(shuffled.length / 30);
    for (let s = 0; s < n; s++) await segment(p, s + 1, shuffled.slice(s * 30, (s + 1) * 30));
    const l = await learnerAt(p, n);
    expect(l.resets).toBeGreaterThanOrEqual(1);
    expect(l.replacements).toBe(0);
    expect(await proven(p)).toEqual([]);
  });

  it('asks for a full run once when the inputs drift past the limit from the frozen transform', async () => {
    const p = 'stream-drift';
    await seattleChampion(p);
    // A year and more of days (the policy's window is 365 rows: fewer are no shift of the stream yet).
    const rows = (weatherRows('Seattle', '2013-01-01', '2014-02-05') as RawRow[]).map((r) => ({ ...r, wind: Number(r.wind) + 8 }));
    for (let s = 0; s < 4; s++) await segment(p, s + 1, rows.slice(s * 100, (s + 1) * 100));
    const l = await learnerAt(p, 4);
    expect(l.transform_drift).toBeGreaterThan(1);
    expect(l.last_decision).toMatch(/^inputs drifted from champion v1's frozen transform \(wind: \d+\.\d\d standard deviations > limit 1\)/);
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.streamDrifted.name}` });
    const asked = stored.map((e) => fromBinary(EVENTS.streamDrifted.schema, e.data)).filter((e) => e.pipeline === p);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ column: 'wind', limit: 1, championVersion: 'v1', segment: 4n });
  });

  it('skips a labeled row it cannot learn from (counted) instead of stopping the stream at its segment', async () => {
    const p = 'stream-bad-row';
    await seattleChampion(p);
    const rows = weatherRows('Seattle', '2013-01-01', '2013-03-01') as RawRow[];
    // A label no rule can read (ingestion checks labels; this one comes from a writer that did not).
    await segment(p, 1, [...rows.slice(0, 20), { ...rows[20], precipitation: 'lots' }]);
    await segment(p, 2, rows.slice(21, 40));
    const l = await learnerAt(p, 2);
    expect(l.rows_learned).toBe(39);
    expect(l.last_decision).toMatch(/skipped 1 labeled row of segment 1/);
  });

  it('passes a segment it cannot learn from (its object gone) with the reason, and learns the ones after it', async () => {
    const p = 'stream-lost-object';
    await seattleChampion(p);
    const rows = weatherRows('Seattle', '2013-01-01', '2013-03-01') as RawRow[];
    await withTransaction(rt.pool, (tx) =>
      rt.publish(tx, EVENTS.streamSegment, {
        pipeline: p,
        segment: 1n,
        labeled: { bucket: 'x', key: `pipelines/${p}/stream/gone.labeled.jsonl`, sha256: '0'.repeat(64), sizeBytes: 10n },
        labelsJoined: 5n,
        specVersion: 1,
        specJson,
      }),
    );
    rt.relay.kick();
    await segment(p, 2, rows.slice(0, 20));
    const l = await learnerAt(p, 2);
    expect(l.rows_learned).toBe(20);
    // The loss is on record, not silent.
    expect(l.last_decision).toMatch(/^segment 1 was not learned from: segment 1's labeled rows \(.*\) are not in the object store/);
    const passed = await rt.pool.query<{ n: number }>(`select count(*)::int as n from stream_learners where pipeline = $1`, [p]);
    expect(passed.rows[0].n).toBe(1);
    const dead = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.dlq.trainer` });
    expect(dead.some((d) => d.headers['Refit-Error']?.includes('are not in the object store'))).toBe(true);
  });
});

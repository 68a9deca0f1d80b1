import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { DeployerService, refitFiles } from '@refit/contracts';
import { connectNats, EVENTS, withTransaction, type GrpcServer, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, freePort, serviceEnv, startStandIn, startTestRuntime, type TestEnv, waitFor } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec, listQuarantine } from './store.js';
import { streamNameOf } from './stream-jetstream.js';
import { getStreamSource, listSegments } from './stream-store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const rain = readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8');

/** The weather-rain spec under another name, reading rows from `subject`. */
const streamSpec = (name: string, subject: string, segment = '{ maxRows: 50, maxSeconds: 0.3 }'): string =>
  rain.replace(/^name: weather-rain$/m, `name: ${name}`).replace('  window: { lastBatches: 1 }', `  window: { lastBatches: 1 }\n  source: { stream: { subject: ${subject}, segment: ${segment} } }`);

const values = { location: 'New York', date: '2015-01-02', temp_max: 3, temp_min: -2, wind: 5, weather: 'snow' };
const row = (id: string): string => JSON.stringify({ id, ...values });
const label = (id: string, value: unknown = 1.5): string => JSON.stringify({ id, label: value });

/** Ids one look-up asks for in these tests (the default is the deployer's limit, 10,000). */
const LOOKUP_BATCH = 100;

/** A prediction the stand-in deployer logged: its pipeline, the raw row Predict received, when, and the version. */
type Logged = { pipeline: string; row: Record<string, unknown>; at: Date; version: string };

/**
 * Labels named by prediction ids (rows an application scored through the deployer's Predict, never
 * published on the stream) join the rows the deployer logged, looked up through GetPredictedRows.
 */
describe('stream labels named by prediction ids', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let deployerPort: number;
  let deployer: GrpcServer | undefined;
  /** What the stand-in deployer logged, by prediction id. */
  const logged = new Map<string, Logged>();
  /** The ids of each GetPredictedRows call the stand-in answered. */
  const calls: Array<{ pipeline: string; ids: string[] }> = [];
  const pipelines: string[] = [];

  /** Stands the deployer's GetPredictedRows up on its port (answering only ids of the pipeline asked). */
  async function startDeployer(): Promise<void> {
    deployer = await startStandIn(
      DeployerService,
      {
      async getPredictedRows({ pipeline, predictionIds }: { pipeline: string; predictionIds: string[] }) {
        calls.push({ pipeline, ids: predictionIds });
        const rows = predictionIds.flatMap((id) => {
          const p = logged.get(id);
          return p && p.pipeline === pipeline ? [{ predictionId: id, rowJson: JSON.stringify(p.row), predictedAt: timestampFromDate(p.at), version: p.version }] : [];
        });
        return { rows };
      },
      },
      { files: refitFiles, port: deployerPort, name: 'fake-deployer' },
    );
  }

  /** Applies a spec as the trigger announces it, and waits until its source reads. */
  async function apply(yaml: string): Promise<string> {
    const spec = parseSpec(yaml);
    pipelines.push(spec.name);
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: spec.name, version: 1, specJson: JSON.stringify(spec) }));
    rt.relay.kick();
    await waitFor(async () => (await getPipelineSpec(rt.pool, spec.name)) !== undefined, { what: `pipeline ${spec.name} stored` });
    await waitFor(async () => (await getStreamSource(rt.pool, spec.name)) !== undefined, { what: `stream source of ${spec.name} started` });
    return spec.name;
  }

  async function publish(subject: string, payloads: string[]): Promise<void> {
    const js = rt.nc.jetstream();
    await Promise.all(payloads.map((p) => js.publish(subject, Buffer.from(p))));
  }

  /** Logs a prediction in the stand-in deployer; returns its id. */
  function predicted(pipeline: string, r: Record<string, unknown> = values, at = new Date('2025-03-01T10:00:00Z')): string {
    const id = randomUUID();
    logged.set(id, { pipeline, row: r, at, version: 'v4' });
    return id;
  }

  /** Every labeled row the pipeline's committed segments hold. */
  async function labeledRows(pipeline: string): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    for (const s of await listSegments(rt.pool, pipeline)) {
      if (!s.labeled_key) continue;
      const text = (await rt.store.get(s.labeled_key)).toString('utf8');
      out.push(...text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>));
    }
    return out;
  }

  const totals = async (pipeline: string) => {
    const s = await getStreamSource(rt.pool, pipeline);
    return { segments: Number(s?.segments ?? 0), rows: Number(s?.rows_accepted ?? 0), labels: Number(s?.labels_joined ?? 0), labelsQ: Number(s?.labels_quarantined ?? 0) };
  };
  const waiting = async (pipeline: string): Promise<string[]> =>
    (await rt.pool.query<{ id: string }>('select id from stream_orphan_labels where pipeline = $1 order by id', [pipeline])).rows.map((r) => r.id);

  beforeAll(async () => {
    env = await createTestEnv({ name: 'stream-predictions' });
    // The deployer is down at first: nothing listens on its port until the first test starts it.
    deployerPort = await freePort();
    const config = loadConfig(serviceEnv(env.env, { REFIT_DEPLOYER_ADDR: `127.0.0.1:${deployerPort}`, REFIT_STREAM_SCAN_MS: '200', REFIT_STREAM_LEASE_TTL_MS: '1500', REFIT_STREAM_ORPHAN_LABEL_WAIT_MS: '120000', REFIT_STREAM_PREDICTION_LOOKUP_BATCH: String(LOOKUP_BATCH) }));
    rt = await startTestRuntime(config, migrations);
    await startIngestionService(rt, config);
  });
  afterAll(async () => {
    await rt?.close();
    await deployer?.stop(0);
    if (env) {
      const nc = await connectNats({ url: env.natsUrl, name: 'stream-predictions-test-cleanup' });
      const jsm = await nc.jetstreamManager();
      for (const p of pipelines) await jsm.streams.delete(streamNameOf(env.streamName, p)).catch(() => undefined);
      await nc.close();
    }
    await env?.cleanup();
  });

  it('keeps a label waiting while the deployer cannot be reached, and joins it once the deployer answers', async () => {
    const subject = `sp_${env.id}.down`;
    const pipeline = await apply(streamSpec('rain-pred-down', subject));
    const id = predicted(pipeline);
    await publish(`${subject}.labels`, [label(id, 0.7)]);
    // The segment is written all the same; the label waits for its row.
    await waitFor(async () => (await totals(pipeline)).segments >= 1 && (await waiting(pipeline)).includes(id), { what: 'the label waiting' });
    expect(await totals(pipeline)).toMatchObject({ labels: 0, labelsQ: 0 });

    await startDeployer();
    // Looked up again with each later segment: rows keep coming until one finds it.
    let n = 0;
    await waitFor(
      async () => {
        await publish(subject, [row(`after-${n++}`)]);
        return (await totals(pipeline)).labels === 1;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'the waiting label joined once the deployer answers' },
    );
    expect(await waiting(pipeline)).toEqual([]);
    expect(await labeledRows(pipeline)).toEqual([
      { id, at: '2025-03-01T10:00:00.000Z', labelAt: expect.any(String), row: { location: 'New York', date: '2015-01-02', temp_max: 3, temp_min: -2, wind: 5, weather: 'snow' }, label: 0.7, source: 'prediction', version: 'v4' },
    ]);
    expect(calls.some((c) => c.pipeline === pipeline && c.ids.includes(id))).toBe(true);
  });

  it('joins labels named by prediction ids to the logged rows, checks those rows, and asks only for ids that name no row', async () => {
    const subject = `sp_${env.id}.joins`;
    const pipeline = await apply(streamSpec('rain-pred-joins', subject, '{ maxRows: 100, maxSeconds: 0.5 }'));
    const found = [predicted(pipeline), predicted(pipeline, { ...values, temp_max: '7', extra: 'ignored' }), predicted(pipeline, { ...values, weather: null })];
    const bad = predicted(pipeline, { ...values, temp_max: 'hot' });
    const elsewhere = predicted('another-pipeline');
    // A row on the stream whose id is a UUID: its label joins it the old way, never asked for.
    const streamed = randomUUID();
    await publish(subject, [row('r1'), row(streamed)]);
    await publish(`${subject}.labels`, [label('r1', 2), label(streamed, 3), ...found.map((id, i) => label(id, i)), label(bad), label(elsewhere), label(found[0].toUpperCase(), 9)]);
    await waitFor(async () => (await totals(pipeline)).labels === 5 && (await totals(pipeline)).labelsQ === 2, { what: 'labels joined and quarantined' });

    const labeled = await labeledRows(pipeline);
    const byId = new Map(labeled.map((l) => [l.id as string, l]));
    expect(byId.get('r1')).toMatchObject({ label: 2, row: { temp_max: 3 } });
    expect(byId.get('r1')).not.toHaveProperty('source');
    expect(byId.get(streamed)).toMatchObject({ label: 3 });
    expect(byId.get(found[0])).toMatchObject({ label: 0, source: 'prediction', version: 'v4', at: '2025-03-01T10:00:00.000Z', row: { location: 'New York', temp_max: 3, weather: 'snow' } });
    // The logged row is checked and typed as a stream row is: text numbers read, other columns left out.
    expect(byId.get(found[1])).toMatchObject({ label: 1, row: { temp_max: 7 } });
    expect(byId.get(found[1])?.row).not.toHaveProperty('extra');
    expect(byId.get(found[2])).toMatchObject({ label: 2, row: { weather: null } });
    expect(labeled).toHaveLength(5);

    const asked = calls.filter((c) => c.pipeline === pipeline).flatMap((c) => c.ids);
    expect(asked).toEqual(expect.arrayContaining([...found, bad, elsewhere]));
    expect(asked).not.toContain(streamed);
    expect(asked).not.toContain('r1');
    // Another pipeline's prediction is not this one's: its label waits for a row.
    expect(await waiting(pipeline)).toEqual([elsewhere]);
    const reasons = (await listQuarantine(rt.pool, pipeline, undefined, 100)).map((q) => q.message).join('\n');
    expect(reasons).toMatch(new RegExp(`the row of prediction '${bad}' \\(the label's id\\) does not pass the row checks: .*temp_max`));
    expect(reasons).toMatch(new RegExp(`the prediction '${found[0].toUpperCase()}' was labeled already in this segment`));
  });

  it('asks for at most a batch of ids a call (10,000 by default; 100 here), splitting a segment that names more', async () => {
    const subject = `sp_${env.id}.many`;
    // One long segment, so that its labels are more than one call takes.
    const pipeline = await apply(streamSpec('rain-pred-many', subject, '{ maxRows: 20000, maxSeconds: 6 }'));
    const ids = Array.from({ length: 250 }, () => predicted(pipeline));
    const before = calls.length;
    await publish(`${subject}.labels`, ids.map((id) => label(id, 1)));
    await waitFor(async () => (await totals(pipeline)).labels === ids.length, { timeoutMs: 60_000, what: 'every label joined' });
    const mine = calls.slice(before).filter((c) => c.pipeline === pipeline);
    expect(Math.max(...mine.map((c) => c.ids.length))).toBeLessThanOrEqual(LOOKUP_BATCH);
    expect(new Set(mine.flatMap((c) => c.ids))).toEqual(new Set(ids));
    const segments = await listSegments(rt.pool, pipeline);
    // Each segment asked once per batch of its ids.
    expect(mine).toHaveLength(segments.reduce((n, s) => n + Math.ceil(s.labels_joined / LOOKUP_BATCH), 0));
    expect(mine.length).toBeGreaterThan(1);
    expect(await labeledRows(pipeline)).toHaveLength(ids.length);
  });

  it('joins a prediction once: a second label for it in a later segment is not learned from twice', async () => {
    const subject = `sp_${env.id}.twice`;
    if (!deployer) await startDeployer();
    const pipeline = await apply(streamSpec('rain-pred-twice', subject, '{ maxRows: 100, maxSeconds: 0.2 }'));
    const id = predicted(pipeline);
    await publish(`${subject}.labels`, [label(id, 0.5)]);
    await waitFor(async () => ((await totals(pipeline)).labels === 1 ? true : undefined), { what: 'the first label joined' });
    const segments = (await totals(pipeline)).segments;
    await publish(`${subject}.labels`, [label(id, 2.5)]);
    await publish(subject, [row('later-1')]);
    await waitFor(async () => ((await totals(pipeline)).segments > segments ? true : undefined), { what: 'a later segment written' });
    expect((await totals(pipeline)).labels).toBe(1);
    expect((await labeledRows(pipeline)).filter((l) => l.id === id)).toHaveLength(1);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { IngestionService, type Lineage, type PushDataRequestSchema } from '@refit/contracts';
import { createClient, EVENTS, withTransaction } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, weatherCsvPath, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const specYaml = readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8');
const [HEADER, ...ALL_ROWS] = readFileSync(weatherCsvPath(), 'utf8').trim().split('\n');
const SEATTLE = ALL_ROWS.filter((r) => r.startsWith('Seattle,'));
const csv = (rows: string[]): string => `${[HEADER, ...rows].join('\n')}\n`;
const inYears = (from: number, to: number) => SEATTLE.filter((r) => Number(r.split(',')[1].slice(0, 4)) >= from && Number(r.split(',')[1].slice(0, 4)) <= to);

/** The weather-rain spec under another name, trained on the last 90 days, with or without a backtest. */
const specOf = (name: string, backtest: boolean): string =>
  specYaml
    .replace(/^name: weather-rain$/m, `name: ${name}`)
    .replace('window: { lastBatches: 1 }', 'window: { time: { lastDays: 90 } }')
    .replace(/^triggers:/m, backtest ? 'evaluation:\n  backtest: { windows: 4, days: 365 }\ntriggers:' : 'triggers:');

describe('ingestion: the history for a backtest', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;

  async function push(pipeline: string, body: string) {
    async function* requests(): AsyncGenerator<MessageInitShape<typeof PushDataRequestSchema>> {
      yield { part: { case: 'header', value: { pipeline, format: 'csv', filename: 'weather.csv' } } };
      yield { part: { case: 'chunk', value: Buffer.from(body) } };
    }
    return client.pushData(requests(), { timeoutMs: 30_000 });
  }

  async function prepare(yaml: string, runId: string): Promise<Lineage> {
    const spec = parseSpec(yaml);
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'test' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runRequested, { context }, { runId }));
    rt.relay.kick();
    return waitFor(
      async () => {
        const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.datasetPrepared.name}` });
        return stored.map((e) => fromBinary(EVENTS.datasetPrepared.schema, e.data)).find((e) => e.context?.runId === runId)?.lineage;
      },
      { timeoutMs: 15_000, what: `dataset.prepared of ${runId}` },
    );
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'ingestion-history' });
    const config = loadConfig(serviceEnv(env.env));
    rt = await startTestRuntime(config, fileURLToPath(new URL('./migrations', import.meta.url)));
    await startIngestionService(rt, config);
    client = createClient(IngestionService, rt.server?.address ?? '');
    for (const [name, backtest] of [
      ['weather-history', true],
      ['weather-no-history', false],
    ] as const) {
      const spec = parseSpec(specOf(name, backtest));
      await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: spec.name, version: 1, specJson: JSON.stringify(spec) }));
      rt.relay.kick();
      await waitFor(async () => (await getPipelineSpec(rt.pool, spec.name)) !== undefined, { what: `pipeline ${spec.name} stored` });
    }
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('holds every accepted row of every batch once, whatever the narrow data window takes', async () => {
    // Four years in three batches, then a fourth that repeats mid-2014 to mid-2015.
    const batches = [inYears(2012, 2013), inYears(2014, 2014), inYears(2015, 2015), SEATTLE.filter((r) => r.split(',')[1] >= '2014-07-01' && r.split(',')[1] < '2015-07-01')];
    const pushed = [];
    for (const b of batches) pushed.push(await push('weather-history', csv(b)));
    expect(pushed.map((p) => p.status)).toEqual(pushed.map(() => 'accepted'));
    const lineage = await prepare(specOf('weather-history', true), 'h-1');
    // The snapshot is the last 90 days (91 daily rows, both ends included)…
    expect(Number(lineage.rowsTrain + lineage.rowsValidation + lineage.rowsTest)).toBe(91);
    // …the history is all 1,461 days, once each, in the splits' serialization.
    expect(lineage.rawHistory?.key).toMatch(/^pipelines\/weather-history\/history\/[0-9a-f]{64}\.jsonl$/);
    const history = (await rt.store.get(lineage.rawHistory?.key ?? '')).toString().trim().split('\n');
    expect(history).toHaveLength(SEATTLE.length);
    expect(new Set(history).size).toBe(SEATTLE.length);
    const accepted = new Set<string>();
    for (const p of pushed) for (const l of (await rt.store.get(`pipelines/weather-history/batches/${p.batchId}/rows.jsonl`)).toString().trim().split('\n')) accepted.add(l);
    expect([...accepted].sort()).toEqual([...history].sort());
    const test = (await rt.store.get(lineage.rawTest?.key ?? '')).toString().trim().split('\n');
    expect(test.every((l) => accepted.has(l))).toBe(true);
  });

  it('is not written for a spec without a backtest', async () => {
    await push('weather-no-history', csv(inYears(2015, 2015)));
    const lineage = await prepare(specOf('weather-no-history', false), 'h-2');
    expect(lineage.rawHistory).toBeUndefined();
    expect(await rt.store.list('pipelines/weather-no-history/history/')).toEqual([]);
  });
});

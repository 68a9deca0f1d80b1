import { readFileSync } from 'node:fs';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { IngestionService, type PushDataRequestSchema } from '@refit/contracts';
import { createClient, EVENTS, isFailedPrecondition, isInvalidInput, withTransaction } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, weatherCsvPath, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec } from './store.js';

const migrations = new URL('./migrations', import.meta.url).pathname;
// vega-datasets weather.csv: location,date,precipitation,temp_max,temp_min,wind,weather
const [HEADER, ...ROWS] = readFileSync(weatherCsvPath(), 'utf8').trim().split('\n');
const seattle = (year: string): string[] => ROWS.filter((r) => r.startsWith(`Seattle,${year}-`));
const csv = (rows: string[]): string => `${[HEADER, ...rows].join('\n')}\n`;
const setCell = (row: string, k: number, f: (v: string) => string): string => row.split(',').map((v, i) => (i === k ? f(v) : v)).join(',');
const fahrenheit = (c: string): string => (Number(c) * 1.8 + 32).toFixed(1);

const spec = (name: string, features: string) => `
apiVersion: refit/v1
kind: Pipeline
name: ${name}
schema: { infer: true, timestamp: date }
label: { column: precipitation, positive: { gt: 0 } }
features: ${features}
`;

describe('a schema inferred from the first batch and pinned (schema.infer)', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;

  async function push(pipeline: string, body: string, format = 'csv') {
    async function* requests(): AsyncGenerator<MessageInitShape<typeof PushDataRequestSchema>> {
      yield { part: { case: 'header', value: { pipeline, format, filename: 'weather.csv' } } };
      yield { part: { case: 'chunk', value: Buffer.from(body) } };
    }
    return client.pushData(requests(), { timeoutMs: 30_000 });
  }
  async function apply(yaml: string): Promise<void> {
    const s = parseSpec(yaml);
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: s.name, version: 1, specJson: JSON.stringify(s) }));
    rt.relay.kick();
    await waitFor(async () => (await getPipelineSpec(rt.pool, s.name)) !== undefined, { what: 'pipeline stored' });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'ingestion-infer' });
    const config = loadConfig(serviceEnv(env.env, {}));
    rt = await startTestRuntime(config, migrations);
    await startIngestionService(rt, config);
    client = createClient(IngestionService, rt.server?.address ?? '');
    await apply(spec('weather-inferred', '[{ name: temp_max, type: number }, { name: wind, type: number }]'));
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('infers types, nullability, ranges with a margin and categories from Seattle 2012, and pins them', async () => {
    expect(await client.getSchema({ pipeline: 'weather-inferred' })).toMatchObject({ source: 'pending', columns: [] });
    // JSON lines need a schema to read against: the first batch must be CSV.
    await expect(push('weather-inferred', '{"location":"Seattle"}\n', 'jsonl')).rejects.toSatisfy(isFailedPrecondition);

    const first = await push('weather-inferred', csv(seattle('2012')));
    expect(first).toMatchObject({ status: 'accepted', rowsAccepted: 366n, rowsQuarantined: 0n });
    const s = await client.getSchema({ pipeline: 'weather-inferred' });
    expect(s).toMatchObject({ source: 'inferred', batchId: first.batchId, rows: 366n });
    const byName = Object.fromEntries(s.columns.map((c) => [c.name, c]));
    expect(s.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['location', 'category', false],
      ['date', 'date', false],
      ['precipitation', 'number', false],
      ['temp_max', 'number', false],
      ['temp_min', 'number', false],
      ['wind', 'number', false],
      ['weather', 'category', false],
    ]);
    // Observed temp_max -1.1 … 34.4 (span 35.5), widened by a quarter of the span each side.
    expect(byName.temp_max).toMatchObject({ min: -9.975, max: 43.275 });
    // Precipitation was never negative: its range starts at 0.
    expect(byName.precipitation).toMatchObject({ min: 0, max: 67.625 });
    expect(byName.weather).toMatchObject({ values: ['drizzle', 'fog', 'rain', 'snow', 'sun'], onUnseen: 'flag' });
    expect(byName.location.values).toEqual(['Seattle']);
  });

  it('validates a later batch against the pinned schema: Seattle 2013 passes', async () => {
    const r = await push('weather-inferred', csv(seattle('2013')));
    expect(r).toMatchObject({ rowsAccepted: 365n, rowsQuarantined: 0n });
    expect(r.status).not.toBe('rejected');
  });

  it('catches a Fahrenheit batch: the temperatures leave the pinned ranges', async () => {
    const rows = seattle('2013').map((r) => setCell(setCell(r, 3, fahrenheit), 4, fahrenheit));
    const r = await push('weather-inferred', csv(rows));
    expect(r.status).toBe('rejected');
    expect(r.rowsQuarantined).toBeGreaterThan(300n);
    expect(['temp_max', 'temp_min']).toContain(r.problems[0].column);
    expect(r.problems[0].message).toMatch(/is above the maximum/);
  });

  it('catches a column whose type changed: wind as words', async () => {
    const rows = seattle('2013').map((r) => setCell(r, 5, (v) => (Number(v) > 4 ? 'windy' : 'calm')));
    const r = await push('weather-inferred', csv(rows));
    expect(r.status).toBe('rejected');
    expect(r.problems[0]).toMatchObject({ column: 'wind', expected: expect.stringMatching(/^a number between 0 and/) });
  });

  it('checks the spec against the inferred schema at the first push, naming the field', async () => {
    await apply(spec('weather-misfit', '[{ name: humidity, type: number }, { name: weather, type: number }]'));
    const err = await push('weather-misfit', csv(seattle('2012'))).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err && isInvalidInput(err)).toBe(true);
    expect(err?.message).toMatch(/features\[0\]\.name: 'humidity' is not a column of schema.columns/);
    expect(err?.message).toMatch(/features\[1\]\.type: 'weather' is declared category/);
    // Nothing was pinned: a fixed spec's next push infers again.
    expect(await client.getSchema({ pipeline: 'weather-misfit' })).toMatchObject({ source: 'pending' });
  });
});

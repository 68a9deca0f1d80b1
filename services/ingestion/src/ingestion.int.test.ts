import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { IngestionService, TriggerService, refitFiles, type Lineage, type PushDataRequestSchema } from '@refit/contracts';
import {
  createClient,
  createGrpcServer,
  createLogger,
  EVENTS,
  grpcCodeOf,
  grpcStatus,
  implement,
  InvalidInputError,
  isInvalidInput,
  isNotFound,
  isRefitError,
  NotFoundError,
  withTransaction,
  type EventDef,
  type GrpcServer,
} from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const specYaml = readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8');
const weather = readFileSync(join(here, '../../../node_modules/vega-datasets/data/weather.csv'), 'utf8');
const [HEADER, ...ALL_ROWS] = weather.trim().split('\n');
const SEATTLE = ALL_ROWS.filter((r) => r.startsWith('Seattle,'));
const csv = (rows: string[], header = HEADER): string => `${[header, ...rows].join('\n')}\n`;
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
/** The weather-rain spec under another name (and optionally another data window). */
const specNamed = (name: string, window = '{ lastBatches: 1 }'): string =>
  specYaml.replace(/^name: weather-rain$/m, `name: ${name}`).replace('window: { lastBatches: 1 }', `window: ${window}`);

type PushRequest = MessageInitShape<typeof PushDataRequestSchema>;

/** Cuts text into chunks of `size` bytes (so records and even characters straddle chunks). */
function* chunksOf(text: string, size: number): Generator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('ingestion service', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;
  // Stands in for the trigger service, which ingestion asks about pipelines it has not seen yet.
  let trigger: GrpcServer;
  const triggerKnows = new Map<string, string>();

  async function push(pipeline: string, body: string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>, filename = 'upload.csv') {
    async function* requests(): AsyncGenerator<PushRequest> {
      yield { part: { case: 'header', value: { pipeline, format: 'csv', filename } } };
      for await (const chunk of typeof body === 'string' ? chunksOf(body, 64 * 1024) : body) yield { part: { case: 'chunk', value: chunk } };
    }
    return client.pushData(requests(), { timeoutMs: 30_000 });
  }

  /** Announces a pipeline the way the trigger service does, and waits until ingestion stored it. */
  async function apply(yaml: string): Promise<void> {
    const spec = parseSpec(yaml);
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: spec.name, version: 1, specJson: JSON.stringify(spec) }));
    rt.relay.kick();
    await waitFor(async () => (await getPipelineSpec(rt.pool, spec.name)) !== undefined, { what: `pipeline ${spec.name} stored` });
  }

  /** The events of one kind in the stream, decoded. */
  async function events<S extends DescMessage>(event: EventDef<S>): Promise<Array<MessageShape<S>>> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${event.name}` });
    return stored.map((e) => fromBinary(event.schema, e.data));
  }

  async function eventually<S extends DescMessage>(event: EventDef<S>, match: (m: MessageShape<S>) => boolean): Promise<MessageShape<S>> {
    return waitFor(async () => (await events(event)).find(match), { timeoutMs: 15_000, what: `a ${event.name} event` });
  }

  async function errorOf(p: Promise<unknown>): Promise<Error> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof Error)) throw new Error('expected the call to fail, it succeeded');
    return err;
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'ingestion' });
    trigger = await createGrpcServer({
      service: 'fake-trigger',
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ service: 'fake-trigger', level: 'silent' }),
      files: refitFiles,
      services: [
        implement(TriggerService, {
          async getPipeline({ name }) {
            const specJson = triggerKnows.get(name);
            if (!specJson) throw new NotFoundError(`pipeline '${name}' not found`);
            return { pipeline: { name, version: 3, specJson } };
          },
          applyPipeline: () => Promise.reject(new InvalidInputError('not in this fake')),
          listPipelines: () => Promise.reject(new InvalidInputError('not in this fake')),
          triggerRun: () => Promise.reject(new InvalidInputError('not in this fake')),
          getRun: () => Promise.reject(new InvalidInputError('not in this fake')),
          listRuns: () => Promise.reject(new InvalidInputError('not in this fake')),
          explainTriggers: () => Promise.reject(new InvalidInputError('not in this fake')),
          cancelRun: () => Promise.reject(new InvalidInputError('not in this fake')),
          listAlerts: () => Promise.reject(new InvalidInputError('not in this fake')),
        }),
      ],
    });
    const config = loadConfig(serviceEnv(env.env, { REFIT_TRIGGER_ADDR: trigger.address }));
    rt = await startTestRuntime(config, migrations);
    await startIngestionService(rt, config);
    client = createClient(IngestionService, rt.server?.address ?? '');
    await apply(specYaml);
    await apply(specNamed('weather-snap'));
    await apply(specNamed('weather-all', 'all'));
  });
  afterAll(async () => {
    client?.close();
    await trigger?.stop(0);
    await rt?.close();
    await env?.cleanup();
  });

  it('accepts a good CSV: counts, data.ingested, ListBatches, raw file and typed rows kept', async () => {
    const body = csv(SEATTLE.slice(0, 60));
    // Small odd-sized chunks: records (and the header) straddle chunk boundaries.
    const res = await push('weather-rain', chunksOf(body, 97), 'seattle-60.csv');
    expect(res).toMatchObject({ rowsTotal: 60n, rowsAccepted: 60n, rowsQuarantined: 0n, problems: [], sha256: sha256(body) });
    const { batchId } = res;

    const ingested = await eventually(EVENTS.dataIngested, (e) => e.batchId === batchId);
    const prefix = `pipelines/weather-rain/batches/${batchId}`;
    expect(ingested).toMatchObject({ pipeline: 'weather-rain', rowsTotal: 60n, rowsAccepted: 60n, rowsQuarantined: 0n, object: { key: `${prefix}/rows.jsonl` } });

    expect(await rt.store.exists(`${prefix}/raw.csv`)).toBe(true);
    expect((await rt.store.get(`${prefix}/raw.csv`)).toString()).toBe(body);
    const rows = (await rt.store.get(`${prefix}/rows.jsonl`)).toString().trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(rows).toHaveLength(60);
    // Typed by the schema: numbers are numbers, in the schema's column order.
    expect(rows[0]).toEqual({ location: 'Seattle', date: '2012-01-01', precipitation: 0, temp_max: 12.8, temp_min: 5, wind: 4.7, weather: 'drizzle' });
    expect(rows[59]).toMatchObject({ date: '2012-02-29' });

    const { batches } = await client.listBatches({ pipeline: 'weather-rain' });
    expect(batches.find((b) => b.batchId === batchId)).toMatchObject({
      pipeline: 'weather-rain',
      filename: 'seattle-60.csv',
      rowsAccepted: 60n,
      rowsQuarantined: 0n,
      sha256: sha256(body),
    });
    expect((await events(EVENTS.dataRejected)).some((e) => e.batchId === batchId)).toBe(false);
  });

  it('reads a UTF-8 BOM and multi-byte characters cut across chunks', async () => {
    const rows = SEATTLE.slice(0, 25).map((r) => r.replace(/^Seattle,/, 'Zürich,').replace(/,(\w+)$/, ',$1 ❄'));
    const body = `\uFEFF${csv(rows)}`;
    const res = await push('weather-rain', chunksOf(body, 5), 'zurich.csv');
    expect(res).toMatchObject({ rowsAccepted: 25n, rowsQuarantined: 0n, sha256: sha256(body) });
    const kept = (await rt.store.get(`pipelines/weather-rain/batches/${res.batchId}/rows.jsonl`)).toString().trim().split('\n');
    expect(JSON.parse(kept[0])).toMatchObject({ location: 'Zürich', date: '2012-01-01', weather: 'drizzle ❄' });
  });

  it('quarantines bad rows with their line, column, expected type and raw text, and keeps the good ones', async () => {
    const good = SEATTLE.slice(100, 120);
    const bad = {
      wrongType: 'Seattle,2012-04-10,"1.0",warm,5.0,4.7,"rain, light"',
      emptyRequired: 'Seattle,,0.0,12.8,5.0,4.7,sun',
      fieldCount: 'Seattle,2012-04-12,0.0,12.8,5.0,4.7',
      negativeWind: 'Seattle,2012-04-13,0.0,12.8,5.0,-1.5,sun',
      noSuchDay: 'Seattle,2012-02-30,0.0,12.8,5.0,4.7,sun',
    };
    // Windows line endings and an empty line: lines are still counted as in the file.
    const lines = [HEADER, ...good.slice(0, 3), '', bad.wrongType, good[3], bad.emptyRequired, bad.fieldCount, bad.negativeWind, ...good.slice(4, 10), bad.noSuchDay, ...good.slice(10)];
    const lineOf = (row: string): bigint => BigInt(lines.indexOf(row) + 1);
    expect(lineOf(bad.wrongType)).toBe(6n);
    const body = `${lines.join('\r\n')}\r\n`;

    const res = await push('weather-rain', body, 'mixed.csv');
    expect(res).toMatchObject({ rowsTotal: 25n, rowsAccepted: 20n, rowsQuarantined: 5n });
    expect(res.problems.map(({ line, column, expected, value }) => ({ line, column, expected, value }))).toEqual([
      { line: lineOf(bad.wrongType), column: 'temp_max', expected: 'a number between -60 and 60', value: 'warm' },
      { line: lineOf(bad.emptyRequired), column: 'date', expected: 'a date (YYYY-MM-DD or ISO 8601)', value: '' },
      { line: lineOf(bad.fieldCount), column: '', expected: '7 fields', value: '6' },
      { line: lineOf(bad.negativeWind), column: 'wind', expected: 'a number >= 0', value: '-1.5' },
      { line: lineOf(bad.noSuchDay), column: 'date', expected: 'a date (YYYY-MM-DD or ISO 8601)', value: '2012-02-30' },
    ]);
    expect(res.problems[0].message).toBe("column 'temp_max': expected a number between -60 and 60, got 'warm'");
    expect(res.problems[1].message).toMatch(/column 'date': a value is required/);
    expect(res.problems[2].message).toBe('expected 7 fields as in the header, got 6');
    expect(res.problems[3].message).toBe("column 'wind': -1.5 is below the minimum 0");

    const { rows: quarantined } = await client.listQuarantine({ pipeline: 'weather-rain', batchId: res.batchId });
    expect(quarantined.map((q) => [q.problem?.line, q.raw])).toEqual(Object.values(bad).map((row) => [lineOf(row), row]));
    expect(quarantined.every((q) => q.batchId === res.batchId)).toBe(true);

    const rejected = await eventually(EVENTS.dataRejected, (e) => e.batchId === res.batchId);
    expect(rejected).toMatchObject({ rowsQuarantined: 5n, rowsTotal: 25n });
    expect(rejected.problems[0]).toBe(`line ${lineOf(bad.wrongType)}: column 'temp_max': expected a number between -60 and 60, got 'warm'`);
    expect(await eventually(EVENTS.dataIngested, (e) => e.batchId === res.batchId)).toMatchObject({ rowsTotal: 25n, rowsAccepted: 20n, rowsQuarantined: 5n });

    const kept = (await rt.store.get(`pipelines/weather-rain/batches/${res.batchId}/rows.jsonl`)).toString().trim().split('\n');
    expect(kept.map((l) => (JSON.parse(l) as { date: string }).date)).toEqual(good.map((r) => r.split(',')[1]));
    const { batches } = await client.listBatches({ pipeline: 'weather-rain' });
    expect(batches.find((b) => b.batchId === res.batchId)).toMatchObject({ rowsAccepted: 20n, rowsQuarantined: 5n });
  });

  it('rejects a file without a declared column (INVALID_ARGUMENT naming it) but keeps the upload', async () => {
    const dropWind = (line: string): string => line.split(',').filter((_, i) => i !== 5).join(',');
    const body = csv(SEATTLE.slice(0, 30).map(dropWind), dropWind(HEADER));
    const err = await errorOf(push('weather-rain', body, 'no-wind.csv'));
    expect(isInvalidInput(err)).toBe(true);
    expect(err.message).toMatch(/column 'wind' missing from the CSV header \(line 1\)/);
    const { batchId, missing } = (err as InvalidInputError).details as { batchId: string; missing: string[] };
    expect(missing).toEqual(['wind']);
    // Announced like any rejected batch (alerts and dashboards hear of it), with the reason.
    const rejected = await eventually(EVENTS.dataRejected, (e) => e.batchId === batchId);
    expect(rejected).toMatchObject({ pipeline: 'weather-rain', rowsQuarantined: 0n, rowsTotal: 0n });
    expect(rejected.problems[0]).toMatch(/^batch rejected: column 'wind' missing from the CSV header \(line 1\)/);

    const { rows } = await rt.pool.query<{ status: string; reject_reason: string; raw_key: string; filename: string }>(
      'select status, reject_reason, raw_key, filename from batches where batch_id = $1',
      [batchId],
    );
    expect(rows).toEqual([{ status: 'rejected', reject_reason: expect.stringContaining("'wind'") as string, raw_key: `pipelines/weather-rain/batches/${batchId}/raw.csv`, filename: 'no-wind.csv' }]);
    expect((await rt.store.get(rows[0].raw_key)).toString()).toBe(body);
    expect(err.message).toContain(rows[0].raw_key);
    const { batches } = await client.listBatches({ pipeline: 'weather-rain' });
    expect(batches.find((b) => b.batchId === batchId)).toMatchObject({ rowsAccepted: 0n, rowsQuarantined: 0n, sha256: sha256(body) });
    // Nothing was announced for it.
    expect((await events(EVENTS.dataIngested)).some((e) => e.batchId === batchId)).toBe(false);
  });

  it('stops at malformed CSV, keeps the rows before it and reports the line, without hanging', async () => {
    // An unclosed quote: the rest of the file is one never-ending field. Sent as a single chunk.
    const before = SEATTLE.slice(200, 230);
    const unclosed = 'Seattle,2012-07-20,"0.0,25.0,12.0,3.1,sun';
    const body = csv([...before, unclosed, ...SEATTLE.slice(230, 250)]);
    const started = Date.now();
    const res = await push('weather-rain', body, 'unclosed.csv');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res).toMatchObject({ rowsTotal: 31n, rowsAccepted: 30n, rowsQuarantined: 1n });
    expect(res.problems).toHaveLength(1);
    expect(res.problems[0]).toMatchObject({ line: 32n, expected: 'well-formed CSV' });
    expect(res.problems[0].message).toBe(
      'malformed CSV at line 32: the record starting on line 32 opens a quote that is never closed; the rest of the file was not read (it is kept with the raw upload)',
    );
    const kept = (await rt.store.get(`pipelines/weather-rain/batches/${res.batchId}/rows.jsonl`)).toString().trim().split('\n');
    expect(kept).toHaveLength(30);
    expect((await rt.store.get(`pipelines/weather-rain/batches/${res.batchId}/raw.csv`)).toString()).toBe(body);
    const { rows: quarantined } = await client.listQuarantine({ pipeline: 'weather-rain', batchId: res.batchId });
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0].raw.startsWith(unclosed)).toBe(true);

    // A quote inside an unquoted field, in small chunks.
    const stray = 'Seattle,2012-07-21,0"0,25.0,12.0,3.1,sun';
    const res2 = await push('weather-rain', chunksOf(csv([...before.slice(0, 5), stray, ...before.slice(5)]), 50), 'stray-quote.csv');
    expect(res2).toMatchObject({ rowsAccepted: 5n, rowsQuarantined: 1n, rowsTotal: 6n });
    expect(res2.problems[0]).toMatchObject({ line: 7n });
    expect(res2.problems[0].message).toMatch(/^malformed CSV at line 7: Invalid Opening Quote/);

    // An unclosed quote early in a big file: the parser gives up after 1 MiB instead of buffering it all.
    const big = csv([before[0], unclosed, ...Array.from({ length: 60_000 }, (_, i) => SEATTLE[i % SEATTLE.length])]);
    expect(big.length).toBeGreaterThan(2 * 2 ** 20);
    const res3 = await push('weather-rain', big, 'unclosed-big.csv');
    expect(res3).toMatchObject({ rowsAccepted: 1n, rowsQuarantined: 1n });
    expect(res3.problems[0]).toMatchObject({ line: 3n, message: expect.stringMatching(/^malformed CSV at line 3: the record starting on line 3 runs over 1048576 characters/) as string });
    expect((await rt.store.stat(`pipelines/weather-rain/batches/${res3.batchId}/raw.csv`)).size).toBe(Buffer.byteLength(big));
  });

  it('rejects an empty file, a header-only request stream and an unreadable header with INVALID_ARGUMENT', async () => {
    for (const body of ['', '\n\n\n', '\r\n\r\n']) {
      const err = await errorOf(push('weather-rain', body));
      expect(isInvalidInput(err), JSON.stringify(body)).toBe(true);
      expect(err.message).toMatch(/the uploaded file for pipeline 'weather-rain' is empty/);
    }
    expect(isInvalidInput(await errorOf(push('weather-rain', [])))).toBe(true);

    const broken = await errorOf(push('weather-rain', '"location,date\nSeattle,2012-01-01\n'));
    expect(isInvalidInput(broken)).toBe(true);
    expect(broken.message).toMatch(/the CSV header \(line 1\) could not be read/);
  });

  it('refuses a request stream that is not one header then chunks', async () => {
    const noHeader = await errorOf(client.pushData([{ part: { case: 'chunk', value: Buffer.from(csv(SEATTLE.slice(0, 3))) } }]));
    expect(isInvalidInput(noHeader) && noHeader.message).toMatch(/first message of PushData must be a header/);

    const twoHeaders = await errorOf(
      client.pushData([
        { part: { case: 'header', value: { pipeline: 'weather-rain' } } },
        { part: { case: 'chunk', value: Buffer.from(csv(SEATTLE.slice(0, 3))) } },
        { part: { case: 'header', value: { pipeline: 'weather-rain' } } },
      ]),
    );
    expect(isInvalidInput(twoHeaders) && twoHeaders.message).toMatch(/only the first PushData message may be a header/);

    const jsonl = await errorOf(client.pushData([{ part: { case: 'header', value: { pipeline: 'weather-rain', format: 'jsonl' } } }]));
    expect(isInvalidInput(jsonl) && jsonl.message).toMatch(/is empty: expected JSON objects, one per line/);
    const parquet = await errorOf(client.pushData([{ part: { case: 'header', value: { pipeline: 'weather-rain', format: 'parquet' } } }]));
    expect(isInvalidInput(parquet) && parquet.message).toMatch(/format 'parquet' is not supported; use csv or jsonl/);
  });

  it('a push cancelled halfway records nothing', async () => {
    const count = async (): Promise<number> => (await client.listBatches({ pipeline: 'weather-rain' })).batches.length;
    const batchesBefore = await count();
    const abort = new AbortController();
    const chunks = chunksOf(csv(SEATTLE), 1024);
    async function* requests(): AsyncGenerator<PushRequest> {
      yield { part: { case: 'header', value: { pipeline: 'weather-rain' } } };
      for (let i = 0; i < 5; i++) yield { part: { case: 'chunk', value: chunks.next().value as Uint8Array } };
      await new Promise((r) => setTimeout(r, 200));
      abort.abort();
      await new Promise((r) => setTimeout(r, 200));
    }
    const err = await errorOf(client.pushData(requests(), { signal: abort.signal }));
    expect(isRefitError(err) && err.kind).toBe('unavailable');
    await new Promise((r) => setTimeout(r, 300));
    expect(await count()).toBe(batchesBefore);
    // The service carries on.
    expect((await push('weather-rain', csv(SEATTLE.slice(0, 3)))).rowsAccepted).toBe(3n);
    expect(await count()).toBe(batchesBefore + 1);
  });

  it('an unknown pipeline is NOT_FOUND with its name; one only the trigger knows is fetched from it', async () => {
    const err = await errorOf(push('no-such-pipeline', csv(SEATTLE.slice(0, 5))));
    expect(isNotFound(err)).toBe(true);
    expect(err.message).toContain("pipeline 'no-such-pipeline' not found");

    triggerKnows.set('weather-late', JSON.stringify(parseSpec(specNamed('weather-late'))));
    const res = await push('weather-late', csv(SEATTLE.slice(0, 5)));
    expect(res.rowsAccepted).toBe(5n);
    expect(await getPipelineSpec(rt.pool, 'weather-late')).toMatchObject({ version: 3 });
  });

  it('an unknown pipeline while the trigger service is down is UNAVAILABLE, saying so', async () => {
    await trigger.stop(0);
    const started = Date.now();
    const err = await errorOf(push('not-applied-yet', csv(SEATTLE.slice(0, 5))));
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(isRefitError(err) && err.kind).toBe('unavailable');
    expect(grpcCodeOf(err)).toBe(grpcStatus.UNAVAILABLE);
    expect(err.message).toContain("pipeline 'not-applied-yet' is not known to the ingestion service yet");
    expect(err.message).toContain(`the trigger service at ${trigger.address} could not be reached`);
    // Pipelines ingestion already knows do not need the trigger service.
    expect((await push('weather-rain', csv(SEATTLE.slice(0, 5)))).rowsAccepted).toBe(5n);
  });

  it('streams a ~20 MB file in 64 KiB chunks with bounded memory', async () => {
    const target = 20 * 1024 * 1024;
    let rowsSent = 0;
    let bytesSent = 0;
    const hash = createHash('sha256');
    async function* bigFile(): AsyncGenerator<Uint8Array> {
      let pending = `${HEADER}\n`;
      for (let i = 0; bytesSent + pending.length < target; i++) {
        pending += `${ALL_ROWS[i % ALL_ROWS.length]}\n`;
        rowsSent++;
        if (pending.length >= 64 * 1024) {
          const chunk = Buffer.from(pending);
          hash.update(chunk);
          bytesSent += chunk.length;
          pending = '';
          yield chunk;
        }
      }
      const last = Buffer.from(pending);
      hash.update(last);
      bytesSent += last.length;
      yield last;
    }
    // Live memory is what must stay bounded: collect every second (v8 otherwise lets garbage pile
    // up before it collects) and track the largest live heap and the largest RSS.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage();
    let rssPeak = before.rss;
    let heapPeak = before.heapUsed;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      gc();
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }, 1000);
    let res;
    try {
      res = await push('weather-rain', bigFile(), 'big.csv');
    } finally {
      clearInterval(sampler);
    }
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    expect(bytesSent).toBeGreaterThanOrEqual(target - 100);
    expect(res).toMatchObject({ rowsTotal: BigInt(rowsSent), rowsAccepted: BigInt(rowsSent), rowsQuarantined: 0n, sha256: hash.digest('hex') });
    expect(rowsSent).toBeGreaterThan(400_000);
    expect((await rt.store.stat(`pipelines/weather-rain/batches/${res.batchId}/raw.csv`)).size).toBe(bytesSent);
    // Test and service share this process; the point is that the file is never held whole (or as rows).
    expect((rssPeak - before.rss) / 2 ** 20).toBeLessThan(200);
    // No rows or file text held in the JS heap (tens of MB of strings and objects if they were).
    expect((heapPeak - before.heapUsed) / 2 ** 20).toBeLessThan(30);
  }, 60_000);

  describe('snapshots for runs', () => {
    let runs = 0;
    async function requestRun(pipeline: string): Promise<string> {
      const runId = `r-${pipeline}-${++runs}`;
      const specJson = JSON.stringify(parseSpec(specNamed(pipeline, pipeline === 'weather-all' ? 'all' : undefined)));
      await withTransaction(rt.pool, (tx) =>
        rt.publish(tx, EVENTS.runRequested, { context: { runId, pipeline, specVersion: 1, specJson, triggerKind: 'manual', triggerReason: 'test' } }, { runId }),
      );
      rt.relay.kick();
      return runId;
    }
    async function prepared(runId: string): Promise<Lineage> {
      const ev = await eventually(EVENTS.datasetPrepared, (e) => e.context?.runId === runId);
      expect(ev.timing?.stage).toBe('ingestion');
      return ev.lineage as Lineage;
    }
    const lines = async (key: string | undefined): Promise<string[]> => (await rt.store.get(key ?? '')).toString().trim().split('\n');

    it('prepares a content-addressed snapshot with a deterministic, stable 70/15/15 split of the latest batch', async () => {
      const a = await push('weather-snap', csv(SEATTLE.slice(0, 60)));
      const first = await prepared(await requestRun('weather-snap'));
      expect(first).toMatchObject({ batchIds: [a.batchId] });
      // A hash split: close to the shares, not exact (each row's split depends on the row alone).
      expect(first.rowsTrain + first.rowsValidation + first.rowsTest).toBe(60n);
      expect([first.rowsTrain > 30n, first.rowsValidation > 0n, first.rowsTest > 0n]).toEqual([true, true, true]);
      const snapshot = await rt.store.get(first.snapshot?.key ?? '');
      expect(first.snapshotSha256).toBe(sha256(snapshot));
      expect(first.snapshot?.key).toBe(`pipelines/weather-snap/snapshots/${first.snapshotSha256}.jsonl`);
      // The snapshot is the batch's accepted rows; the splits partition it.
      expect(snapshot.equals(await rt.store.get(`pipelines/weather-snap/batches/${a.batchId}/rows.jsonl`))).toBe(true);
      const [train, validation, test] = await Promise.all([lines(first.rawTrain?.key), lines(first.rawValidation?.key), lines(first.rawTest?.key)]);
      expect([train.length, validation.length, test.length]).toEqual([first.rowsTrain, first.rowsValidation, first.rowsTest].map(Number));
      expect([...train, ...validation, ...test].sort()).toEqual(snapshot.toString().trim().split('\n').sort());
      expect(train).not.toEqual(snapshot.toString().trim().split('\n').slice(0, train.length)); // spread, not the file order
      const stored = await rt.pool.query<{ sha256: string }>('select sha256 from snapshots where run_id = $1', ['r-weather-snap-1']);
      expect(stored.rows).toEqual([{ sha256: first.snapshotSha256 }]);

      // A newer batch: the window { lastBatches: 1 } takes only it.
      const b = await push('weather-snap', csv(SEATTLE.slice(60, 100)));
      const second = await prepared(await requestRun('weather-snap'));
      expect(second).toMatchObject({ batchIds: [b.batchId] });
      expect(second.rowsTrain + second.rowsValidation + second.rowsTest).toBe(40n);
      expect(second.snapshotSha256).not.toBe(first.snapshotSha256);

      // The first data again, as a new batch: same snapshot, same split, same objects.
      const c = await push('weather-snap', csv(SEATTLE.slice(0, 60)));
      const third = await prepared(await requestRun('weather-snap'));
      expect(third.batchIds).toEqual([c.batchId]);
      expect(third.snapshotSha256).toBe(first.snapshotSha256);
      expect(third.rawTrain?.key).toBe(first.rawTrain?.key);
      expect(await lines(third.rawTrain?.key)).toEqual(train);
      expect(third.rawTest?.sha256).toBe(first.rawTest?.sha256);
    });

    it("the window 'all' takes every batch, without duplicate rows", async () => {
      await push('weather-all', csv(SEATTLE.slice(0, 60)));
      await push('weather-all', csv(SEATTLE.slice(40, 100)));
      await push('weather-all', csv(SEATTLE.slice(0, 60)));
      const lineage = await prepared(await requestRun('weather-all'));
      expect(lineage.batchIds).toHaveLength(3);
      expect(lineage.rowsTrain + lineage.rowsValidation + lineage.rowsTest).toBe(100n);
      // Every row keeps its split as the window grows: a row that was in test stays in test.
      await push('weather-all', csv(SEATTLE.slice(100, 200)));
      const grown = await prepared(await requestRun('weather-all'));
      const [trainBefore, testBefore, trainAfter, testAfter] = await Promise.all([lines(lineage.rawTrain?.key), lines(lineage.rawTest?.key), lines(grown.rawTrain?.key), lines(grown.rawTest?.key)]);
      expect(trainBefore.every((l) => trainAfter.includes(l))).toBe(true);
      expect(testBefore.every((l) => testAfter.includes(l))).toBe(true);
      expect(testAfter.filter((l) => trainBefore.includes(l))).toEqual([]);
    });

    it('too few rows fail the run at the ingestion stage, saying how many there are', async () => {
      await push('weather-snap', csv(SEATTLE.slice(0, 12)));
      const runId = await requestRun('weather-snap');
      const failed = await eventually(EVENTS.runFailed, (e) => e.runId === runId);
      expect(failed).toMatchObject({ runId, pipeline: 'weather-snap', stage: 'ingestion' });
      expect(failed.reason).toContain("pipeline 'weather-snap' has 12 usable rows in its data window; at least 20 are needed");
      expect((await events(EVENTS.datasetPrepared)).some((e) => e.context?.runId === runId)).toBe(false);
    });
  });
});

// Bad input never crashes a push, never wedges the service and never gets a silently wrong answer:
// each case answers INVALID_ARGUMENT (or quarantines the row) naming what is wrong, the service
// keeps serving, and no object is left in S3 without the batch row that records it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { IngestionService, type PushDataRequestSchema } from '@refit/contracts';
import { createClient, EVENTS, grpcCodeOf, grpcStatus, isInvalidInput, withTransaction, type InvalidInputError } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { MAX_JSON_DEPTH } from './jsonl-reader.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const specYaml = readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8');
const weather = readFileSync(join(here, '../../../node_modules/vega-datasets/data/weather.csv'), 'utf8');
const [HEADER, ...ALL_ROWS] = weather.trim().split('\n');
const SEATTLE = ALL_ROWS.filter((r) => r.startsWith('Seattle,'));
const csv = (rows: string[], header = HEADER): string => `${[header, ...rows].join('\n')}\n`;
const COLUMNS = HEADER.split(',');
/** A CSV row as the JSON line of the same values. */
const jsonLine = (row: string): string => {
  const v = row.split(',');
  return JSON.stringify({ location: v[0], date: v[1], precipitation: Number(v[2]), temp_max: Number(v[3]), temp_min: Number(v[4]), wind: Number(v[5]), weather: v[6] });
};
const PIPELINES = ['bad-input', 'bad-input-other'];

type PushRequest = MessageInitShape<typeof PushDataRequestSchema>;
type PushOptions = { pipeline?: string; format?: string; filename?: string; resubmitsBatchId?: string };

describe('bad input to ingestion', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;

  async function push(body: string | Buffer, o: PushOptions = {}) {
    async function* requests(): AsyncGenerator<PushRequest> {
      yield { part: { case: 'header', value: { pipeline: o.pipeline ?? 'bad-input', format: o.format ?? 'csv', filename: o.filename ?? 'bad.csv', resubmitsBatchId: o.resubmitsBatchId ?? '' } } };
      yield { part: { case: 'chunk', value: Buffer.from(body) } };
    }
    return client.pushData(requests(), { timeoutMs: 30_000 });
  }

  async function errorOf(p: Promise<unknown>): Promise<Error> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof Error)) throw new Error('expected the call to fail, it succeeded');
    return err;
  }

  /** A push of a small good file to `pipeline`. */
  const pushTo = (pipeline: string) => push(csv(SEATTLE.slice(0, 3)), { pipeline });

  /** Objects under a pipeline's batches that no batch row records. */
  async function orphans(pipeline: string): Promise<string[]> {
    const keys = await rt.store.list(`pipelines/${pipeline}/batches/`);
    const { rows } = await rt.pool.query<{ batch_id: string }>('select batch_id from batches where pipeline = $1', [pipeline]);
    const known = new Set(rows.map((r) => r.batch_id));
    return keys.filter((k) => !known.has(k.split('/')[3]));
  }

  /** The service still takes a good file. */
  async function stillServing(): Promise<void> {
    expect((await push(csv(SEATTLE.slice(0, 3)))).rowsAccepted).toBe(3n);
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'ingestion-bad-input' });
    const config = loadConfig(serviceEnv(env.env, {}));
    rt = await startTestRuntime(config, migrations);
    await startIngestionService(rt, config);
    client = createClient(IngestionService, rt.server?.address ?? '');
    for (const name of PIPELINES) {
      const spec = parseSpec(specYaml.replace(/^name: weather-rain$/m, `name: ${name}`));
      await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: spec.name, version: 1, specJson: JSON.stringify(spec) }));
      rt.relay.kick();
      await waitFor(async () => (await getPipelineSpec(rt.pool, spec.name)) !== undefined, { what: `pipeline ${spec.name} stored` });
    }
  });
  afterEach(async () => {
    for (const name of PIPELINES) expect(await orphans(name), `objects of ${name} without a batch row`).toEqual([]);
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('a NUL byte in a value quarantines its row naming the line and column; nothing with NUL reaches Postgres', async () => {
    const rows = SEATTLE.slice(0, 10);
    rows[2] = rows[2].replace(/,(\w+)$/, ',dri\u0000zzle');
    const res = await push(csv(rows), { filename: 'nul\u0000.csv' });
    expect(res).toMatchObject({ rowsTotal: 10n, rowsAccepted: 9n, rowsQuarantined: 1n });
    expect(res.problems[0]).toMatchObject({ line: 4n, column: 'weather', value: 'dri␀zzle' });
    expect(res.problems[0].message).toBe("column 'weather': holds a NUL byte (\\0) at character 4, which cannot be stored: remove it (shown as ␀) and re-submit the row");
    const { rows: quarantined } = await client.listQuarantine({ pipeline: 'bad-input', batchId: res.batchId });
    expect(quarantined.map((q) => q.raw)).toEqual([rows[2].replace('\u0000', '␀')]);
    const { batches } = await client.listBatches({ pipeline: 'bad-input' });
    expect(batches.find((b) => b.batchId === res.batchId)?.filename).toBe('nul␀.csv');
    // The raw upload is kept as it came.
    expect((await rt.store.get(`pipelines/bad-input/batches/${res.batchId}/raw.csv`)).includes(0)).toBe(true);

    // A NUL in the header: the column is missing, and the answer names what the file has instead.
    const header = HEADER.replace('wind', 'wi\u0000nd');
    const err = await errorOf(push(csv(SEATTLE.slice(0, 3), header)));
    expect(isInvalidInput(err)).toBe(true);
    expect(err.message).toContain("column 'wind' missing from the CSV header (line 1); the file has a column 'wi␀nd' the schema does not declare");
    await stillServing();
  });

  it('a NUL in a JSON value (\\u0000) or a raw NUL in a JSON line quarantines that line', async () => {
    const lines = SEATTLE.slice(0, 6).map(jsonLine);
    lines[1] = lines[1].replace('"Seattle"', '"Sea\\u0000ttle"');
    lines[3] = lines[3].replace('"Seattle"', '"Sea\u0000ttle"');
    const res = await push(`${lines.join('\n')}\n`, { format: 'jsonl', filename: 'nul.jsonl' });
    expect(res).toMatchObject({ rowsTotal: 6n, rowsAccepted: 4n, rowsQuarantined: 2n });
    expect(res.problems.map((p) => [p.line, p.column])).toEqual([
      [2n, 'location'],
      [4n, ''],
    ]);
    expect(res.problems[0].message).toMatch(/^column 'location': holds a NUL byte/);
    expect(res.problems[1].message).toMatch(/^line 4 is not valid JSON: /);
    expect(res.problems[1].message).not.toContain('\u0000');
    await stillServing();
  });

  it(`a JSON line nested ${MAX_JSON_DEPTH + 1} or 100,000 deep is a quarantined line, not a crash`, async () => {
    const deep = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const good = SEATTLE.slice(0, 3).map(jsonLine);
    const lines = [good[0], good[1].replace('"Seattle"', deep(100_000)), good[2].replace('"Seattle"', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`), good[2]];
    const res = await push(`${lines.join('\n')}\n`, { format: 'jsonl', filename: 'deep.jsonl' });
    expect(res).toMatchObject({ rowsTotal: 4n, rowsAccepted: 2n, rowsQuarantined: 2n });
    expect(res.problems.map((p) => p.message)).toEqual([
      // `{"location":` then `{"a":` per level: level 65 opens at character 13 + 5 · 63.
      `line 2 nests JSON more than ${MAX_JSON_DEPTH} levels deep (at character 328); a row is one object of plain values: flatten it`,
      `line 3 nests JSON more than ${MAX_JSON_DEPTH} levels deep (at character 76); a row is one object of plain values: flatten it`,
    ]);
    await stillServing();
  });

  it('a JSON line naming a key twice is quarantined naming it (JSON.parse would keep the last silently)', async () => {
    const good = SEATTLE.slice(0, 3).map(jsonLine);
    const twice = good[1].replace('"wind":', '"wind":99,"wind":');
    const res = await push(`${[good[0], twice, good[2]].join('\n')}\n`, { format: 'jsonl' });
    expect(res).toMatchObject({ rowsAccepted: 2n, rowsQuarantined: 1n });
    expect(res.problems[0]).toMatchObject({ line: 2n, column: 'wind', message: "line 2 names the key 'wind' twice; which value is meant is unclear: keep one" });
  });

  it('duplicate CSV header names are INVALID_ARGUMENT naming them; the file is kept with a rejected batch', async () => {
    const header = `${HEADER},wind,location`;
    const rows = SEATTLE.slice(0, 5).map((r) => `${r},0.0,Paris`);
    const err = await errorOf(push(csv(rows, header), { filename: 'dup.csv' }));
    expect(grpcCodeOf(err)).toBe(grpcStatus.INVALID_ARGUMENT);
    const { batchId, duplicates } = (err as InvalidInputError).details as { batchId: string; duplicates: string[] };
    expect(duplicates).toEqual(['location', 'wind']);
    expect(err.message).toBe(
      `batch rejected: the CSV header (line 1) names 'location' twice (columns 1 and 9) and 'wind' twice (columns 6 and 8): which one holds the data is unclear; rename or drop the extra columns. The file is kept as pipelines/bad-input/batches/${batchId}/raw.csv.`,
    );
    const { rows: recorded } = await rt.pool.query<{ status: string }>('select status from batches where batch_id = $1', [batchId]);
    expect(recorded).toEqual([{ status: 'rejected' }]);
    await stillServing();
  });

  it('resubmits_batch_id unknown or of another pipeline is INVALID_ARGUMENT naming it, and writes nothing', async () => {
    const other = await push(csv(SEATTLE.slice(0, 3)), { pipeline: 'bad-input-other' });
    const before = (await rt.store.list('pipelines/bad-input/batches/')).length;
    const unknown = await errorOf(push(csv(SEATTLE.slice(0, 3)), { resubmitsBatchId: 'b-no-such-batch' }));
    expect(grpcCodeOf(unknown)).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(unknown.message).toBe(
      "resubmits_batch_id: 'b-no-such-batch' is not a batch of pipeline 'bad-input'; give the id of the batch whose quarantined rows this file fixes (refit data batches bad-input)",
    );
    const foreign = await errorOf(push(csv(SEATTLE.slice(0, 3)), { resubmitsBatchId: other.batchId }));
    expect(grpcCodeOf(foreign)).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(foreign.message).toBe(
      `resubmits_batch_id: '${other.batchId}' is a batch of pipeline 'bad-input-other', not of 'bad-input'; give the id of the batch whose quarantined rows this file fixes (refit data batches bad-input)`,
    );
    expect((await rt.store.list('pipelines/bad-input/batches/')).length).toBe(before);
  });

  it('a pipeline or batch id that cannot be one (a NUL, spaces) is INVALID_ARGUMENT naming the field, not a database error', async () => {
    const pushed = await errorOf(pushTo('bad\u0000input'));
    expect(grpcCodeOf(pushed)).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(pushed.message).toBe("header.pipeline: 'bad␀input' is not a pipeline name (lower-case letters, digits and dashes, starting with a letter)");
    const list = await errorOf(client.listBatches({ pipeline: 'Bad Input' }));
    expect(list.message).toBe("pipeline: 'Bad Input' is not a pipeline name (lower-case letters, digits and dashes, starting with a letter)");
    const quarantine = await errorOf(client.listQuarantine({ pipeline: 'bad-input', batchId: 'b-\u0000' }));
    expect(grpcCodeOf(quarantine)).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(quarantine.message).toBe("batch_id: 'b-␀' is not a batch id (b-<uuid>, as refit data batches lists them)");
    const resubmits = await errorOf(push(csv(SEATTLE.slice(0, 3)), { resubmitsBatchId: 'b-\u0000' }));
    expect(resubmits.message).toMatch(/^resubmits_batch_id: 'b-␀' is not a batch of pipeline 'bad-input'/);
    await stillServing();
  });

  it('an abandoned upload (the client goes away mid-stream) leaves no batch row and no object', async () => {
    const before = await rt.store.list('pipelines/bad-input/batches/');
    const abort = new AbortController();
    const body = Buffer.from(csv(SEATTLE));
    async function* requests(): AsyncGenerator<PushRequest> {
      yield { part: { case: 'header', value: { pipeline: 'bad-input' } } };
      for (let i = 0; i < 5; i++) yield { part: { case: 'chunk', value: body.subarray(i * 1024, (i + 1) * 1024) } };
      await new Promise((r) => setTimeout(r, 200));
      abort.abort();
      await new Promise((r) => setTimeout(r, 200));
    }
    await errorOf(client.pushData(requests(), { signal: abort.signal }));
    // The service notices the cancellation after the client (and may have stored both objects by
    // then): give it time to, then wait until it has cleaned up.
    await new Promise((r) => setTimeout(r, 500));
    await waitFor(async () => (await rt.store.list('pipelines/bad-input/batches/')).length === before.length, { timeoutMs: 10_000, what: 'the partial objects removed' });
    expect(await rt.store.list('pipelines/bad-input/batches/')).toEqual(before);
    await stillServing();
  });

  it('a push whose batch cannot be recorded removes the objects it wrote', async () => {
    // A real Postgres failure at the moment of recording: a trigger refusing one file name.
    await rt.pool.query(`create or replace function refuse_batch() returns trigger language plpgsql as $$
      begin if new.filename = 'unrecordable.csv' then raise exception 'refused by the test'; end if; return new; end $$`);
    await rt.pool.query('create trigger refuse_batch before insert on batches for each row execute function refuse_batch()');
    try {
      const before = await rt.store.list('pipelines/bad-input/batches/');
      const err = await errorOf(push(csv(SEATTLE.slice(0, 20)), { filename: 'unrecordable.csv' }));
      expect(grpcCodeOf(err)).toBe(grpcStatus.INTERNAL);
      expect(await rt.store.list('pipelines/bad-input/batches/')).toEqual(before);
      // An early rejection (a missing column) cannot be recorded either: its file goes too.
      const missing = await errorOf(push(csv(SEATTLE.slice(0, 3).map((r) => r.split(',').slice(0, 6).join(',')), COLUMNS.slice(0, 6).join(',')), { filename: 'unrecordable.csv' }));
      expect(grpcCodeOf(missing)).toBe(grpcStatus.INTERNAL);
      expect(await rt.store.list('pipelines/bad-input/batches/')).toEqual(before);
    } finally {
      await rt.pool.query('drop trigger refuse_batch on batches');
    }
    await stillServing();
  });
});

import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { ServiceRuntime } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { archiveOldPredictions, PredictionLog, pgArray } from './prediction-log.js';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('prediction log', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-prediction-log' });
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), join(here, 'migrations'));
  });
  afterAll(async () => {
    await rt?.close();
    await env?.cleanup();
  });

  it('array literals read back exactly: awkward strings, nulls and doubles', async () => {
    const texts = ['plain', 'with "quotes"', 'back\\slash', 'comma, {braces}', 'NULL', '', 'ünïcode ✓', ' spaces '];
    const numbers = [0.1, 1 / 3, 1e-300, -2.5e300, 0, 123456789.123456789, Number.MIN_VALUE];
    const r = await rt.pool.query<{ t: Array<string | null>; n: number[] }>('select $1::text[] as t, $2::float8[] as n', [pgArray([...texts, null]), pgArray(numbers)]);
    expect(r.rows[0].t).toEqual([...texts, null]);
    expect(r.rows[0].n.map(Number)).toEqual(numbers);
  });

  it('writes every buffered prediction with its fields, to the millisecond', async () => {
    const log = new PredictionLog({ db: { url: rt.config.pgUrl, schema: rt.config.pgSchema }, logger: rt.logger, flushMs: 60_000 });
    // A recent instant with milliseconds (recent: the archiving test below leaves it alone).
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 345);
    const rows = Array.from({ length: 1500 }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      pipeline: 'p"1',
      version: i % 2 ? 'v1' : 'v\\2',
      variant: i % 3 ? 'champion' : 'canary',
      probability: i / 1500,
      latencyMs: 0.25 + i,
      at,
      shadowVersion: i % 5 ? undefined : 'v3',
      shadowProbability: i % 5 ? undefined : 1 - i / 1500,
      championProbability: i % 3 ? undefined : i / 3000,
    }));
    log.add(rows);
    await log.close();
    const stored = await rt.pool.query<{ prediction_id: string; pipeline: string; version: string; variant: string; probability: number; latency_ms: number; created_at: Date; shadow_version: string | null; shadow_probability: number | null; champion_probability: number | null }>(
      'select * from predictions where pipeline = $1 order by prediction_id',
      ['p"1'],
    );
    expect(stored.rows).toHaveLength(1500);
    stored.rows.forEach((s, i) => {
      const r = rows[i];
      expect(s).toMatchObject({ prediction_id: r.id, version: r.version, variant: r.variant, probability: r.probability, latency_ms: r.latencyMs, shadow_version: r.shadowVersion ?? null, shadow_probability: r.shadowProbability ?? null, champion_probability: r.championProbability ?? null });
      expect(s.created_at.toISOString()).toBe(at.toISOString());
    });
  });

  // A schema without the log's tables: every write fails until the test creates them.
  const unready = async (name: string) => {
    await rt.pool.query(`drop schema if exists ${name} cascade`);
    await rt.pool.query(`create schema ${name}`);
    return {
      db: { url: rt.config.pgUrl, schema: name },
      ready: () => rt.pool.query(`create table ${name}.predictions (like ${rt.config.pgSchema}.predictions including all); create table ${name}.prediction_errors (like ${rt.config.pgSchema}.prediction_errors including all)`),
      count: async () => Number((await rt.pool.query<{ n: string }>(`select count(*) as n from ${name}.predictions`)).rows[0].n),
    };
  };
  const served = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({ id: `20000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`, pipeline: 'q', version: 'v1', variant: 'champion', probability: 0.5, latencyMs: 1, at: new Date() }));

  it('bounds its queue: past maxQueued rows are dropped and counted, never waited for, and what was kept is written once Postgres takes it', async () => {
    const target = await unready('deployer_log_bounded');
    const dropped: number[] = [];
    const log = new PredictionLog({ db: target.db, logger: rt.logger, flushMs: 10, maxQueued: 1000, observer: { dropped: (n) => dropped.push(n) } });
    try {
      log.add(served(600));
      log.add(served(400, 600));
      // The writer has tried and failed: the 1,000 rows are still queued, the next ones do not fit.
      await waitFor(() => log.stats().failedWrites > 0, { what: 'a failed write' });
      log.add(served(1, 1000));
      log.add(served(250, 1001));
      expect(log.stats()).toMatchObject({ queued: 1000, written: 0, dropped: 251 });
      expect(dropped).toEqual([1, 250]);
      // A flush while Postgres refuses answers (it does not hang the caller) and keeps the rows.
      await log.flush();
      expect(log.stats().queued).toBe(1000);
      await target.ready();
      await waitFor(() => log.stats().written === 1000, { what: 'the kept rows written' });
      expect(await target.count()).toBe(1000);
      // Room again: new rows are taken.
      log.add(served(5, 2000));
      await log.flush();
      expect(log.stats()).toMatchObject({ queued: 0, written: 1005, dropped: 251 });
    } finally {
      await log.close();
    }
  });

  it('starts its writer again when it dies and gives it the rows it had not written, each written once', async () => {
    const target = await unready('deployer_log_restart');
    const log = new PredictionLog({ db: target.db, logger: rt.logger, flushMs: 10 });
    try {
      log.add(served(300, 5000));
      log.addFailure({ pipeline: 'q', version: 'v1', variant: 'champion', rows: 3, at: new Date() });
      await waitFor(() => log.stats().failedWrites > 0, { what: 'a failed write' });
      const first = log.worker;
      await first?.terminate();
      await waitFor(() => log.worker !== undefined && log.worker !== first, { what: 'a new writer' });
      await target.ready();
      await waitFor(() => log.stats().written === 300, { what: 'the rows written by the new writer' });
      await log.flush();
      expect(log.stats()).toMatchObject({ queued: 0, written: 300, dropped: 0, restarts: 1 });
      expect(await target.count()).toBe(300);
      const failures = await rt.pool.query<{ rows: number }>('select rows from deployer_log_restart.prediction_errors');
      expect(failures.rows.map((r) => r.rows)).toEqual([3]);
    } finally {
      await log.close();
    }
  });

  it('writes rows sent again (a restarted writer) once, and strings COPY must escape as they were', async () => {
    const db = { url: rt.config.pgUrl, schema: rt.config.pgSchema };
    const odd = (n: number, from: number) => served(n, from).map((r, i) => ({ ...r, pipeline: 'tab\tnew\nline\\', version: i % 2 ? 'v\r1' : '\\N' }));
    const first = new PredictionLog({ db, logger: rt.logger, flushMs: 60_000 });
    first.add(odd(10, 7000));
    await first.close();
    // The same ten again with five new ones: COPY refuses the duplicates, the insert takes the rest.
    const second = new PredictionLog({ db, logger: rt.logger, flushMs: 60_000 });
    second.add(odd(15, 7000));
    await second.close();
    expect(second.stats()).toMatchObject({ written: 15, failedWrites: 0 });
    const stored = await rt.pool.query<{ pipeline: string; version: string }>('select pipeline, version from predictions where pipeline = $1 order by prediction_id', ['tab\tnew\nline\\']);
    expect(stored.rows).toHaveLength(15);
    expect(stored.rows.map((r) => r.version)).toEqual(odd(15, 7000).map((r) => r.version));
  });

  it('archives predictions older than the retention to the object store before deleting them', async () => {
    const log = new PredictionLog({ db: { url: rt.config.pgUrl, schema: rt.config.pgSchema }, logger: rt.logger, flushMs: 60_000 });
    const old = new Date('2026-01-01T00:00:00.000Z');
    const recent = new Date();
    const row = (i: number, at: Date, pipeline: string) => ({ id: `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`, pipeline, version: 'v1', variant: 'champion', probability: i / 10, latencyMs: 1, at, threshold: 0.4 });
    log.add([row(1, old, 'a'), row(2, old, 'a'), row(3, old, 'b'), row(4, recent, 'a')]);
    await log.close();
    await rt.pool.query("update predictions set feedback_label = 1, feedback_at = now() where prediction_id = '10000000-0000-4000-8000-000000000001'");
    const pass = await archiveOldPredictions(rt.pool, rt.store, new Date(Date.now() - 86_400_000), 2);
    expect(pass.archived).toBe(3);
    const left = await rt.pool.query<{ prediction_id: string }>("select prediction_id from predictions where pipeline in ('a', 'b')");
    expect(left.rows.map((r) => r.prediction_id)).toEqual(['10000000-0000-4000-8000-000000000004']);
    // Every archived row is in the store, with its feedback, under its pipeline.
    const archived = [];
    for (const o of pass.objects) {
      expect(o.key).toMatch(/^pipelines\/(a|b)\/prediction-archive\/.+\.jsonl\.gz$/);
      archived.push(...gunzipSync(await rt.store.get(o.key)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { prediction_id: string; pipeline: string; feedback_label: number | null; threshold: number }));
    }
    expect(archived.map((r) => r.prediction_id).sort()).toEqual(['10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000003']);
    expect(archived.find((r) => r.prediction_id.endsWith('1'))).toMatchObject({ pipeline: 'a', feedback_label: 1, threshold: 0.4 });
    expect((await archiveOldPredictions(rt.pool, rt.store, new Date(Date.now() - 86_400_000))).archived).toBe(0);
  });
});

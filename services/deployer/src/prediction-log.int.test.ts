import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceRuntime } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { PredictionLog, pgArray } from './prediction-log.js';

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
    const log = new PredictionLog({ pool: rt.pool, logger: rt.logger, flushMs: 60_000 });
    const at = new Date('2026-11-26T06:01:02.345Z');
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
});

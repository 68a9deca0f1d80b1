import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTransaction } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { pipelineState } from './decision-store.js';
import { onNewRows } from './external.js';
import { applyPipeline } from './pipelines.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8').replace('  - kind: manual', '  - kind: manual\n  - { kind: volume, minRows: 1000000 }');

describe('trigger: one lock order for a pipeline', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'trigger-locks' });
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), migrations);
    await applyPipeline(rt, spec);
    // The state row exists (as it does once a pipeline has seen any data or decision).
    await withTransaction(rt.pool, (tx) => pipelineState(tx, 'weather-rain'));
  });
  afterAll(async () => {
    await rt?.close();
    await env?.cleanup();
  });

  it('new rows arriving while a manual trigger decides wait for it instead of deadlocking', async () => {
    // A decision (a manual trigger) holds the pipeline's decision lock and is about to read its
    // state row, as decide() does; new rows for the same pipeline arrive meanwhile.
    const manual = await rt.pool.connect();
    try {
      await manual.query('begin');
      await manual.query('select pg_advisory_xact_lock(hashtext($1))', ['trigger:weather-rain']);
      const arriving = withTransaction(rt.pool, (tx) => onNewRows(rt, tx, 'weather-rain', 50, new Date())).then(
        () => 'done',
        (err: unknown) => err,
      );
      // Wait until the new-rows transaction is blocked on a lock (whichever it took first).
      await waitFor(async () => ((await rt.pool.query(`select count(*)::int as n from pg_locks where not granted`)).rows[0].n > 0 ? true : undefined), { what: 'the new rows waiting on a lock' });
      // The decision goes on: it reads and locks the state row. With the rows holding it while
      // waiting for the decision lock, Postgres would abort one of the two as a deadlock.
      await manual.query('select * from pipeline_state where pipeline = $1 for update', ['weather-rain']);
      await manual.query('commit');
      expect(await arriving).toBe('done');
    } finally {
      await manual.query('rollback').catch(() => undefined);
      manual.release();
    }
    const state = await rt.pool.query('select rows_since_run::int as n from pipeline_state where pipeline = $1', ['weather-rain']);
    expect(state.rows[0].n).toBe(50);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyTransform, fitTransform, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import type { ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, serviceEnv, startTestRuntime, weatherRows, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { loadVersion, ServingTable } from './serving.js';
import { createServingSync } from './serving-sync.js';
import { saveDeployment } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = join(here, 'migrations');
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;

/** A promise and the function that settles it. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

// The serving sync reads the database and makes this replica's table say the same. A read that
// started before a commit can come back after the consumer installed what that commit records: it
// must not put the older state back (seen under load as v1 answering after v2's deployment.serving,
// and a canary step served at the previous step's weight).
describe('serving sync against changes made while it reads', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  const versions: Record<string, { modelKey: string; transformKey: string }> = {};

  beforeAll(async () => {
    env = await createTestEnv({ name: 'serving-sync' });
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), migrations);
    for (const [version, city] of [['v1', 'Seattle'], ['v2', 'New York']] as const) {
      const rows = weatherRows(city, '2012-01-01', '2013-01-01') as RawRow[];
      const transform = fitTransform(rows, spec.features);
      const t = applyTransform(transform, rows);
      // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
      const { model } = await trainModel({ X: t.X, y: labelsOf(rows, spec.label), n: t.n, d: t.d, spec: { ...spec.model, solver: 'adam', epochs: 2, seed: 1 } });
      const modelKey = (await rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, await model.serialize(), '.refitm')).key;
      const transformKey = (await rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, serializeTransform(transform), '.json')).key;
      model.dispose();
      versions[version] = { modelKey, transformKey };
    }
  });
  afterAll(async () => {
    await rt?.close();
    await env?.cleanup();
  });

  it('a read that began before the champion moved never swaps the previous champion back in', async () => {
    const deploy = (version: 'v1' | 'v2') => saveDeployment(rt.pool, { pipeline: PIPELINE, version, runId: `r-${version}`, ...versions[version], threshold: 0.5, reason: 'test' });
    await deploy('v1');
    // The sync's reads of `deployments` wait at a gate the test opens, once it has changed things behind them.
    let held: ReturnType<typeof gate> | undefined;
    const readDone = gate();
    const pool = new Proxy(rt.pool, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: unknown[]) => {
          const res = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
          if (held && String(args[0]).includes('from deployments')) {
            readDone.open();
            await held.opened;
          }
          return res;
        };
      },
    });
    // Every model the table is given, in order: the previous champion put back even for a moment is a defect.
    const swapped: string[] = [];
    const table = new (class extends ServingTable {
      override swap(loaded: Parameters<ServingTable['swap']>[0]): void {
        swapped.push(loaded.version);
        super.swap(loaded);
      }
    })();
    const sync = createServingSync({ rt: { pool, store: rt.store, logger: rt.logger }, table, tfBackend: 'auto', everyMs: 3_600_000 });
    try {
      await sync.reconcile();
      expect(table.current(PIPELINE)?.version).toBe('v1');

      held = gate();
      const reading = sync.reconcile();
      // The read has its rows (v1) when v2 is committed and installed, as the alias-changed consumer does.
      await readDone.opened;
      await deploy('v2');
      sync.preload(await loadVersion(rt.store, { pipeline: PIPELINE, version: 'v2', runId: 'r-v2', ...versions.v2 }));
      sync.install(PIPELINE, 'v2');
      expect(table.current(PIPELINE)?.version).toBe('v2');
      const old = held;
      held = undefined;
      old.open();
      await reading;
      expect(table.current(PIPELINE)?.version).toBe('v2');
      expect(swapped).toEqual(['v1', 'v2']);
    } finally {
      await sync.stop();
    }
  });
});

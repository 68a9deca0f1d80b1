import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectNats, createArtifactStore, createPool, migrate } from '@refit/platform';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestEnv } from './test-env.js';

async function schemaExists(url: string, name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name])).rowCount === 1;
  } finally {
    await c.end();
  }
}

describe('createTestEnv', () => {
  it('provides isolated names, working infrastructure, and cleans everything up', async () => {
    const env = await createTestEnv({ name: 'self-test' });
    expect(env.schemaPrefix).toMatch(/^t_[0-9a-f]{6}_$/);
    expect(env.schema('model-registry')).toBe(`${env.schemaPrefix}model_registry`);
    const config = env.config('trainer');
    expect(config).toMatchObject({ grpcPort: 0, pgSchema: env.schema('trainer'), streamName: env.streamName, subjectPrefix: env.subjectPrefix, logLevel: 'warn' });
    expect(config.s3).toEqual(env.s3);
    expect(env.env.REFIT_S3_URL).toBe(`http://127.0.0.1:${env.s3.port}`);

    // Postgres schema via migrate, the stream, and the bucket all work.
    const pool = createPool({ url: env.pgUrl, schema: config.pgSchema });
    await migrate(pool, { schema: config.pgSchema, dir: await mkdtemp(join(tmpdir(), 'empty-migrations-')) });
    await pool.end();
    expect(await schemaExists(env.pgUrl, config.pgSchema)).toBe(true);
    await using nc = await connectNats({ url: env.natsUrl, name: 'test-env-test' });
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(env.streamName)).config.subjects).toEqual([`${env.subjectPrefix}.>`]);
    const store = createArtifactStore(env.s3);
    await store.put('hello.txt', 'hi');
    expect((await store.get('hello.txt')).toString()).toBe('hi');

    await env.cleanup();
    await env.cleanup();
    expect(await schemaExists(env.pgUrl, config.pgSchema)).toBe(false);
    await expect(jsm.streams.info(env.streamName)).rejects.toThrow(/stream not found/);
    await expect(fetch(env.env.REFIT_S3_URL)).rejects.toThrow();
  });

  it('gives two envs different names', async () => {
    await using a = await createTestEnv();
    await using b = await createTestEnv();
    expect(a.id).not.toBe(b.id);
    expect(a.streamName).not.toBe(b.streamName);
    expect(a.s3.port).not.toBe(b.s3.port);
  });
});

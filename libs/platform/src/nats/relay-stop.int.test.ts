import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, readEvents, type TestEnv } from '@refit/testing';
import { createLogger } from '../logger.js';
import { migrate } from '../pg/migrate.js';
import { createPool, withTransaction, type PgPool } from '../pg/pool.js';
import { connectNats, type RefitNatsConnection } from './connection.js';
import { HEADER_EVENT_ID } from './headers.js';
import { enqueueEvent } from './outbox.js';
import { startRelay } from './relay.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;
let pool: PgPool;
let nc: RefitNatsConnection;

beforeAll(async () => {
  env = await createTestEnv({ name: 'relay-stop' });
  dir = await mkdtemp(join(tmpdir(), 'refit-relay-stop-'));
  await writeFile(join(dir, '001_x.sql'), 'CREATE TABLE x (v int);');
  pool = createPool({ url: env.pgUrl, schema: env.schema('rs') });
  await migrate(pool, { schema: env.schema('rs'), dir });
  nc = await connectNats({ url: env.natsUrl, name: 'relay-stop-test' });
});
afterAll(async () => {
  await nc?.close();
  await pool?.end();
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('relay.stop()', () => {
  it('publishes what was committed before it returns', async () => {
    // A poll far in the future: only stop() itself can publish these.
    const relay = startRelay({ pool, nc, logger, source: 'deployer', pollMs: 600_000 });
    // Let the first (empty) poll pass so the relay is asleep.
    await new Promise((r) => setImmediate(r));
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      ids.push(await withTransaction(pool, (tx) => enqueueEvent(tx, { subject: `${env.subjectPrefix}.deployment.serving`, schema: TimestampSchema, message: { seconds: BigInt(i) } })));
    }
    await relay.stop();
    expect((await pool.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0].n).toBe(0);
    const events = await readEvents(nc, { stream: env.streamName, subject: `${env.subjectPrefix}.deployment.serving` });
    expect(events.map((e) => e.headers[HEADER_EVENT_ID]).sort()).toEqual([...ids].sort());
  });
});

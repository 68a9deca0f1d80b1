import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@refit/testing';
import { ConflictError, NotFoundError, UnavailableError } from './errors.js';
import { createArtifactStore, ObjectExistsError, type ArtifactStore } from './storage.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let env: TestEnv;
let store: ArtifactStore;

beforeAll(async () => {
  env = await createTestEnv({ name: 'storage' });
  store = createArtifactStore(env.s3);
});
afterAll(() => env.cleanup());

describe('ArtifactStore', () => {
  it('puts and gets, with sha256 and size', async () => {
    const ref = await store.put('runs/r1/model.json', '{"w":[1,2]}', { contentType: 'application/json' });
    expect(ref).toEqual({ bucket: env.s3.bucket, key: 'runs/r1/model.json', sha256: sha('{"w":[1,2]}'), size: 11 });
    expect((await store.get('runs/r1/model.json')).toString()).toBe('{"w":[1,2]}');
    expect(await store.stat('runs/r1/model.json')).toEqual(ref);
    const chunks: Buffer[] = [];
    for await (const c of await store.getStream('runs/r1/model.json')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('{"w":[1,2]}');
  });

  it('never overwrites: same content returns the existing ref, different content fails', async () => {
    const first = await store.put('fixed/a.bin', Buffer.from([1, 2, 3]));
    expect(await store.put('fixed/a.bin', new Uint8Array([1, 2, 3]))).toEqual(first);
    const err = await store.put('fixed/a.bin', Buffer.from([9])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectExistsError);
    expect(err).toBeInstanceOf(ConflictError);
    expect(await store.get('fixed/a.bin')).toEqual(Buffer.from([1, 2, 3]));
    await expect(store.putStream('fixed/a.bin', Readable.from([Buffer.from('other')]))).rejects.toThrow(ObjectExistsError);
  });

  it('stores content-addressed objects once', async () => {
    const data = Buffer.from('dataset rows');
    const ref = await store.putContentAddressed('datasets/', data, '.csv');
    expect(ref.key).toBe(`datasets/${sha(data)}.csv`);
    const before = await store.stat(ref.key);
    expect(await store.putContentAddressed('datasets', data, '.csv')).toEqual(before);
    expect(await store.list('datasets/')).toEqual([ref.key]);
  });

  it('streams uploads and computes their digest', async () => {
    const parts = [Buffer.from('a'.repeat(1000)), Buffer.from('b'.repeat(500))];
    const ref = await store.putStream('streamed/x.txt', Readable.from(parts), { contentType: 'text/plain' });
    expect(ref).toEqual({ bucket: env.s3.bucket, key: 'streamed/x.txt', sha256: sha(Buffer.concat(parts)), size: 1500 });
    // Same content again is accepted and returns the same ref.
    expect(await store.putStream('streamed/x.txt', Readable.from(parts))).toEqual(ref);
  });

  it('streams a new object while it flows, in parts when large, and aborts on a failed stream', async () => {
    const small = await store.putStreamToFreshKey('fresh/small.txt', Readable.from([Buffer.from('tiny')]));
    expect(small).toEqual({ bucket: env.s3.bucket, key: 'fresh/small.txt', sha256: sha(Buffer.from('tiny')), size: 4 });
    // 20 MiB in 1 MiB chunks: three 8 MiB parts, the first uploading while the second fills.
    const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1024 * 1024, i));
    const big = await store.putStreamToFreshKey('fresh/big.bin', Readable.from(chunks));
    expect(big).toMatchObject({ sha256: sha(Buffer.concat(chunks)), size: 20 * 1024 * 1024 });
    expect(sha(await store.get('fresh/big.bin'))).toBe(big.sha256);
    async function* failing() {
      for (const c of chunks.slice(0, 10)) yield c;
      throw new Error('client gone');
    }
    await expect(store.putStreamToFreshKey('fresh/broken.bin', failing())).rejects.toThrow('client gone');
    expect(await store.exists('fresh/broken.bin')).toBe(false);
  });

  it('reports missing objects', async () => {
    const err = await store.get('nope/missing.bin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain(`${env.s3.bucket}/nope/missing.bin`);
    await expect(store.getStream('nope/missing.bin')).rejects.toThrow(NotFoundError);
    await expect(store.stat('nope/missing.bin')).rejects.toThrow(NotFoundError);
    expect(await store.exists('nope/missing.bin')).toBe(false);
    expect(await store.exists('runs/r1/model.json')).toBe(true);
  });

  it('lists keys under a prefix', async () => {
    await Promise.all(['l/b', 'l/a', 'l/sub/c', 'm/x'].map((k) => store.put(k, k)));
    expect(await store.list('l/')).toEqual(['l/a', 'l/b', 'l/sub/c']);
    expect(await store.list('zzz/')).toEqual([]);
  });

  it('removes objects it is asked to, and a key already gone is no error', async () => {
    await store.put('rm/a', Buffer.from('a'));
    await store.put('rm/b', Buffer.from('b'));
    await store.remove(['rm/a', 'rm/never-written']);
    expect(await store.list('rm/')).toEqual(['rm/b']);
  });

  it('ensureBucket is idempotent and race-safe', async () => {
    const other = createArtifactStore({ ...env.s3, bucket: `${env.s3.bucket}-second` });
    await Promise.all([other.ensureBucket(), other.ensureBucket(), other.ensureBucket()]);
    await other.ensureBucket();
    await other.put('k', 'v');
    expect(await other.list('')).toEqual(['k']);
  });

  it('reports an unreachable endpoint as UnavailableError', async () => {
    const down = createArtifactStore({ ...env.s3, port: 1 });
    await expect(down.get('x')).rejects.toThrow(UnavailableError);
    await expect(down.ensureBucket()).rejects.toThrow(/cannot reach S3/);
  });
});

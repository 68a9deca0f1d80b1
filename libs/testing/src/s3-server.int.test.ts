import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '@refit/platform';
import type { ArtifactStore } from '@refit/platform';
import { S3RVER_KEY, startS3Server, type S3Server } from './s3-server.js';

describe('startS3Server', () => {
  let server: S3Server;
  let store: ArtifactStore;
  let client: Client;

  beforeAll(async () => {
    server = await startS3Server();
    const s3 = { endPoint: '127.0.0.1', port: server.port, useSSL: false, accessKey: S3RVER_KEY, secretKey: S3RVER_KEY, bucket: 'wrapper', region: 'us-east-1' };
    store = createArtifactStore(s3);
    client = new Client({ ...s3, pathStyle: true });
    await store.ensureBucket();
  });
  afterAll(() => server.stop());

  it('answers ListMultipartUploads with an empty list', async () => {
    const res = await fetch(`${server.url}/wrapper?uploads&prefix=x`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(await res.text()).toContain('<ListMultipartUploadsResult');
  });

  it('supports minio multipart uploads (12 MB stream)', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    // Several small chunks so the upload really streams.
    const chunks = Array.from({ length: 12 }, (_, i) => data.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
    const listingsBefore = server.stats.listMultipartUploads;
    const ref = await store.putStream('big/blob.bin', Readable.from(chunks));
    expect(ref).toEqual({ bucket: 'wrapper', key: 'big/blob.bin', sha256: createHash('sha256').update(data).digest('hex'), size: data.length });
    // minio only lists pending multipart uploads when it is about to start one.
    expect(server.stats.listMultipartUploads).toBe(listingsBefore + 1);
    const st = await client.statObject('wrapper', 'big/blob.bin');
    expect(st.size).toBe(data.length);
    expect((await store.get('big/blob.bin')).equals(data)).toBe(true);
  });

  it('stops and removes its temp directory', async () => {
    const other = await startS3Server();
    await other.stop();
    await other.stop();
    await expect(fetch(`${other.url}/`)).rejects.toThrow();
  });
});

/**
 * Artifact storage on S3 (minio client, path-style so s3rver and MinIO work without DNS tricks).
 * Objects are write-once: a key never changes content, so an artifact reference (bucket, key,
 * sha256) recorded in a database stays true forever.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, S3Error } from 'minio';
import type { S3Config } from './config.js';
import { ConflictError, FailedPreconditionError, NotFoundError, UnavailableError } from './errors.js';

/** Where an artifact lives and what it contains. */
export interface ArtifactRef {
  /** Bucket name. */
  bucket: string;
  /** Object key. */
  key: string;
  /** Hex sha256 of the content. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/** Write-once artifact storage in one bucket. */
export interface ArtifactStore {
  /** The bucket everything goes to. */
  readonly bucket: string;
  /** Creates the bucket if missing (safe when several services race). */
  ensureBucket(): Promise<void>;
  /**
   * Stores `data` at `key`. Identical content already there → returns the existing ref.
   * @throws ObjectExistsError when `key` holds different content.
   */
  put(key: string, data: Buffer | Uint8Array | string, opts?: { contentType?: string }): Promise<ArtifactRef>;
  /** Like {@link ArtifactStore.put} for a stream of any size; memory stays bounded (spools to a temp file). */
  putStream(key: string, stream: NodeJS.ReadableStream, opts?: { contentType?: string }): Promise<ArtifactRef>;
  /**
   * Streams `stream` to `key` while it flows (no temp file, no wait for its end), hashing on the
   * way; memory stays bounded (one part at a time). Only for a key nothing else writes (it holds a
   * fresh random id): there is no existence check, and since the digest is known only at the end
   * the object carries no sha256 metadata — the returned ref (recorded in a database) is the
   * record of its content. Aborts the upload when the stream fails.
   */
  putStreamToFreshKey(key: string, stream: AsyncIterable<Uint8Array | string>, opts?: { contentType?: string }): Promise<ArtifactRef>;
  /** Stores `data` at `${prefix}/${sha256}${ext}`; when that exists returns its ref without writing. */
  putContentAddressed(prefix: string, data: Buffer, ext?: string): Promise<ArtifactRef>;
  /** Reads a whole object. @throws NotFoundError naming bucket/key. */
  get(key: string): Promise<Buffer>;
  /** Streams an object. @throws NotFoundError naming bucket/key. */
  getStream(key: string): Promise<NodeJS.ReadableStream>;
  /** True when `key` exists. */
  exists(key: string): Promise<boolean>;
  /** Keys under `prefix` (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Removes objects. Artifacts are write-once and never removed: this is for what a caller wrote a
   * moment ago and nothing records (an abandoned upload). A key that is already gone is no error.
   */
  remove(keys: readonly string[]): Promise<void>;
  /** Reference of an existing object (sha256 from its metadata). @throws NotFoundError. */
  stat(key: string): Promise<ArtifactRef>;
}

/** A different object already exists at the key: artifacts are never overwritten. */
export class ObjectExistsError extends ConflictError {}

/** Metadata key (sent as `x-amz-meta-refit-sha256`) holding the content's sha256. */
export const SHA256_METADATA = 'refit-sha256';
// 8 MiB parts: bounds memory per upload and makes objects above 8 MiB use multipart upload.
const PART_SIZE = 8 * 1024 * 1024;

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const REFUSED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidBucketName']);

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Creates an {@link ArtifactStore} on the bucket of `opts`. */
export function createArtifactStore(opts: S3Config): ArtifactStore {
  const client = new Client({
    endPoint: opts.endPoint,
    port: opts.port,
    useSSL: opts.useSSL,
    accessKey: opts.accessKey,
    secretKey: opts.secretKey,
    region: opts.region,
    pathStyle: true,
    partSize: PART_SIZE,
  });
  const { bucket } = opts;
  const endpoint = `${opts.useSSL ? 'https' : 'http'}://${opts.endPoint}:${opts.port}`;
  const where = (key: string): string => `s3://${bucket}/${key}`;

  /** Maps a minio failure to Refit's errors. */
  const failure = (err: unknown, key: string, action: string): Error => {
    if (err instanceof S3Error) {
      if (err.code && NOT_FOUND.has(err.code)) return new NotFoundError(`artifact ${where(key)} not found`, { cause: err });
      if (err.code === 'NoSuchBucket') return new FailedPreconditionError(`bucket ${bucket} does not exist (call ensureBucket)`, { cause: err });
      if (err.code && REFUSED.has(err.code)) return new FailedPreconditionError(`S3 refused to ${action} ${where(key)}: ${err.code}`, { cause: err });
      return new UnavailableError(`S3 failed to ${action} ${where(key)}: ${err.code ?? err.message}`, { cause: err });
    }
    // Socket-level failures (ECONNREFUSED, ECONNRESET, ETIMEDOUT…) carry a string errno code.
    const errno = (err as { code?: unknown } | null)?.code;
    if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno)) {
      return new UnavailableError(`cannot reach S3 at ${endpoint} to ${action} ${where(key)}: ${errno}`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  };

  const statOrNull = async (key: string): Promise<ArtifactRef | null> => {
    try {
      const st = await client.statObject(bucket, key);
      return { bucket, key, sha256: String(st.metaData[SHA256_METADATA] ?? ''), size: st.size };
    } catch (err) {
      const mapped = failure(err, key, 'stat');
      if (mapped instanceof NotFoundError) return null;
      throw mapped;
    }
  };

  /** The existing ref when `key` holds the same content, null when free; throws when it differs. */
  const checkExisting = async (key: string, digest: string): Promise<ArtifactRef | null> => {
    const existing = await statOrNull(key);
    if (!existing) return null;
    if (existing.sha256 === digest) return existing;
    throw new ObjectExistsError(`artifact ${where(key)} already exists with different content`, {
      details: { bucket, key, existingSha256: existing.sha256, newSha256: digest },
    });
  };

  const metadata = (digest: string, contentType?: string) => ({
    'Content-Type': contentType ?? 'application/octet-stream',
    [SHA256_METADATA]: digest,
  });

  const store: ArtifactStore = {
    bucket,

    async ensureBucket() {
      try {
        if (await client.bucketExists(bucket)) return;
        await client.makeBucket(bucket, opts.region);
      } catch (err) {
        // Lost the race with another service creating it: fine.
        if (err instanceof S3Error && (err.code === 'BucketAlreadyOwnedByYou' || err.code === 'BucketAlreadyExists')) return;
        throw failure(err, '', 'create bucket');
      }
    },

    async put(key, data, putOpts) {
      const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const digest = sha256(buf);
      // S3 has no create-only PUT here, so two writers racing on one key with different content
      // can still both succeed; content-addressed keys (the common case) make that harmless.
      const existing = await checkExisting(key, digest);
      if (existing) return existing;
      try {
        await client.putObject(bucket, key, buf, buf.length, metadata(digest, putOpts?.contentType));
      } catch (err) {
        throw failure(err, key, 'write');
      }
      return { bucket, key, sha256: digest, size: buf.length };
    },

    async putStream(key, input, putOpts) {
      // The digest must be known before the upload (it is stored as metadata, and decides whether
      // the key is taken), so spool to disk while hashing instead of buffering in memory.
      const dir = await mkdtemp(join(tmpdir(), 'refit-artifact-'));
      try {
        const file = join(dir, 'data');
        const hash = createHash('sha256');
        let size = 0;
        const tap = new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        });
        await pipeline(input, tap, createWriteStream(file));
        const digest = hash.digest('hex');
        const existing = await checkExisting(key, digest);
        if (existing) return existing;
        try {
          await client.putObject(bucket, key, createReadStream(file), size, metadata(digest, putOpts?.contentType));
        } catch (err) {
          throw failure(err, key, 'write');
        }
        return { bucket, key, sha256: digest, size };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async putStreamToFreshKey(key, input, putOpts) {
      const hash = createHash('sha256');
      const headers = { 'Content-Type': putOpts?.contentType ?? 'application/octet-stream' };
      const parts: Array<{ part: number; etag: string }> = [];
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let size = 0;
      let uploadId: string | undefined;
      // One part uploads while the next one fills: the writer is held up only when it is two parts ahead.
      let inflight: Promise<void> = Promise.resolve();
      const flush = async (): Promise<void> => {
        const body = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await inflight;
        const id = (uploadId ??= await client.initiateNewMultipartUpload(bucket, key, headers));
        const part = parts.length + 1;
        parts.push({ part, etag: '' });
        inflight = client.uploadPart({ bucketName: bucket, objectName: key, uploadID: id, partNumber: part, headers: {} }, body).then(({ etag }) => {
          parts[part - 1].etag = etag;
        });
        // Surfaces at the next await of `inflight`; never unhandled meanwhile.
        inflight.catch(() => undefined);
      };
      try {
        for await (const chunk of input) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          hash.update(buf);
          size += buf.length;
          pending.push(buf);
          pendingBytes += buf.length;
          if (pendingBytes >= PART_SIZE) await flush();
        }
        if (uploadId === undefined) {
          // Small enough for one request.
          const body = Buffer.concat(pending, pendingBytes);
          await client.putObject(bucket, key, body, body.length, headers);
        } else {
          if (pendingBytes > 0) await flush();
          await inflight;
          await client.completeMultipartUpload(bucket, key, uploadId, parts);
        }
      } catch (err) {
        await inflight.catch(() => undefined);
        if (uploadId !== undefined) await client.abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
        throw failure(err, key, 'write');
      }
      return { bucket, key, sha256: hash.digest('hex'), size };
    },

    async putContentAddressed(prefix, data, ext = '') {
      const key = `${prefix.replace(/\/+$/, '')}/${sha256(data)}${ext}`;
      return store.put(key, data);
    },

    async get(key) {
      const stream = await store.getStream(key);
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (err) {
        throw failure(err, key, 'read');
      }
      return Buffer.concat(chunks);
    },

    async getStream(key) {
      try {
        return await client.getObject(bucket, key);
      } catch (err) {
        throw failure(err, key, 'read');
      }
    },

    async exists(key) {
      return (await statOrNull(key)) !== null;
    },

    async stat(key) {
      const ref = await statOrNull(key);
      if (!ref) throw new NotFoundError(`artifact ${where(key)} not found`);
      return ref;
    },

    async list(prefix) {
      const keys: string[] = [];
      try {
        for await (const item of client.listObjectsV2(bucket, prefix, true)) {
          if (item.name) keys.push(item.name);
        }
      } catch (err) {
        throw failure(err, prefix, 'list');
      }
      return keys.sort();
    },

    async remove(keys) {
      for (const key of keys) {
        try {
          await client.removeObject(bucket, key);
        } catch (err) {
          const mapped = failure(err, key, 'remove');
          if (!(mapped instanceof NotFoundError)) throw mapped;
        }
      }
    },
  };
  return store;
}

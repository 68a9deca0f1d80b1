/**
 * A throw-away S3 endpoint for tests and the local stack: s3rver (filesystem-backed fake S3)
 * behind a small HTTP wrapper that answers the one request minio v8 needs and s3rver lacks.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The parts of s3rver 3.7's API we use (it ships no types). */
interface S3rverApp {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  logger?: { close(): void };
}
type S3rverCtor = new (opts: { silent: boolean; directory: string; resetOnClose?: boolean; allowMismatchedSignatures?: boolean; vhostBuckets?: boolean }) => S3rverApp;

// s3rver is CommonJS without typings; require keeps the type surface to the interface above.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** Port to listen on (default 0 = ephemeral). */
  port?: number;
  /** Interface to bind (default `127.0.0.1`). */
  host?: string;
  /** Where objects are stored (default a fresh temp dir, removed on stop). */
  directory?: string;
}

/** A running fake S3 server; access key and secret are both `S3RVER`. */
export interface S3Server {
  /** Base URL, e.g. `http://127.0.0.1:40123` (use as `REFIT_S3_URL`). */
  url: string;
  /** Port it listens on. */
  port: number;
  /** Directory holding the objects. */
  directory: string;
  /** Requests answered by the wrapper itself (tests use it to check a multipart upload happened). */
  readonly stats: { listMultipartUploads: number };
  /** Closes the server (and removes the temp directory it created). */
  stop(): Promise<void>;
  /** Same as {@link S3Server.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** s3rver's fixed credentials. */
export const S3RVER_KEY = 'S3RVER';

// minio v8 lists in-progress multipart uploads (to resume them) before every multipart upload;
// s3rver does not implement ListMultipartUploads, so answer "none in progress". The result must
// not be an empty element: minio's XML parser turns <X></X> into '' and reports the tag missing.
// IsTruncated is left out on purpose (a string "false" would read as true and loop forever).
const emptyMultipartList = (bucket: string): string =>
  '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  `<Bucket>${bucket}</Bucket><MaxUploads>1000</MaxUploads></ListMultipartUploadsResult>`;

/** The bucket of a `GET /<bucket>?uploads` request (ListMultipartUploads), else undefined. */
const listMultipartUploadsBucket = (req: IncomingMessage): string | undefined => {
  if (req.method !== 'GET' || !req.url) return undefined;
  const u = new URL(req.url, 'http://s3.local');
  const match = /^\/([a-z0-9.-]+)\/?$/.exec(u.pathname);
  return u.searchParams.has('uploads') && match ? match[1] : undefined;
};

/** Starts s3rver behind the multipart-listing shim. */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const ownDir = opts.directory === undefined;
  const directory = opts.directory ?? (await mkdtemp(join(tmpdir(), 'refit-s3-')));
  // vhostBuckets off: requests are path-style and host names are never bucket names here.
  const app = new S3rver({ silent: true, directory, vhostBuckets: false });
  const handle = app.callback();
  const stats = { listMultipartUploads: 0 };
  const server = createServer((req, res) => {
    const bucket = listMultipartUploadsBucket(req);
    if (bucket !== undefined) {
      stats.listMultipartUploads++;
      const body = emptyMultipartList(bucket);
      res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    handle(req, res);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // minio keeps connections alive; without this close() waits for them to time out.
      server.closeAllConnections();
      await closed;
      app.logger?.close();
      if (ownDir) await rm(directory, { recursive: true, force: true });
    })();
    return stopped;
  };
  return { url: `http://${host}:${port}`, port, directory, stats, stop, [Symbol.asyncDispose]: stop };
}

/**
 * An isolated slice of the real infrastructure for one test file: its own Postgres schemas (by
 * prefix), JetStream stream and subject prefix, and its own s3rver with a fresh bucket. Test files
 * run in parallel without seeing each other's data, and cleanup() removes everything.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  connectNats,
  createArtifactStore,
  dropSchema,
  ensureDatabase,
  ensureStream,
  loadBaseConfig,
} from '@refit/platform';
import type { BaseConfig, S3Config } from '@refit/platform';
import { startS3Server, S3RVER_KEY } from './s3-server.js';

/** One test file's private infrastructure. */
export interface TestEnv {
  /** Random id (6 hex chars) embedded in every name below. */
  id: string;
  /** Postgres URL (`REFIT_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/refit`). */
  pgUrl: string;
  /** NATS URL (`REFIT_TEST_NATS_URL`, default `nats://127.0.0.1:4222`). */
  natsUrl: string;
  /** Schema prefix, e.g. `t_ab12cd_`. */
  schemaPrefix: string;
  /** Schema of `service` in this env, e.g. `t_ab12cd_trainer`. */
  schema(service: string): string;
  /** Stream name, e.g. `T_AB12CD`. */
  streamName: string;
  /** Subject prefix, e.g. `t_ab12cd`. */
  subjectPrefix: string;
  /** S3 settings pointing at this env's s3rver and bucket. */
  s3: S3Config;
  /** `REFIT_*` variables for spawning a service process against this env (gRPC ports not included). */
  env: Record<string, string>;
  /** `loadBaseConfig(service)` against this env; gRPC port `defaultGrpcPort` (default 0 = ephemeral). */
  config(service: string, defaultGrpcPort?: number): Readonly<BaseConfig>;
  /** Drops the schemas with this prefix, deletes the stream, stops s3rver. Idempotent. */
  cleanup(): Promise<void>;
  /** Same as {@link TestEnv.cleanup}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link createTestEnv}. */
export interface TestEnvOptions {
  /** Label for the NATS connection name and logs (e.g. the test file). */
  name?: string;
}

/** Drops every schema whose name starts with `prefix`. */
export async function dropSchemasWithPrefix(url: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let names: string[];
  try {
    const { rows } = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)', [prefix]);
    names = rows.map((r) => r.nspname);
  } finally {
    await client.end();
  }
  for (const name of names) await dropSchema(url, name);
}

/** Creates an isolated environment on the real Postgres and NATS plus a private s3rver. */
export async function createTestEnv(opts: TestEnvOptions = {}): Promise<TestEnv> {
  const id = randomBytes(3).toString('hex');
  const label = opts.name ? `${opts.name}-${id}` : id;
  const pgUrl = process.env.REFIT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/refit';
  const natsUrl = process.env.REFIT_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
  const schemaPrefix = `t_${id}_`;
  const streamName = `T_${id.toUpperCase()}`;
  const subjectPrefix = `t_${id}`;
  const bucket = `t-${id}`;
  const undo: Array<() => Promise<void>> = [];

  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaned ??= (async () => {
      const errors: unknown[] = [];
      for (const step of undo.reverse()) await step().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw new AggregateError(errors, `cleanup of test env ${label} failed`);
    })();
    return cleaned;
  };

  try {
    await ensureDatabase(pgUrl);
    undo.push(() => dropSchemasWithPrefix(pgUrl, schemaPrefix));

    const nc = await connectNats({ url: natsUrl, name: `refit-test-${label}` });
    try {
      await ensureStream(nc, { name: streamName, subjectPrefix });
    } finally {
      await nc.close();
    }
    undo.push(async () => {
      const c = await connectNats({ url: natsUrl, name: `refit-test-${label}-cleanup` });
      try {
        const jsm = await c.jetstreamManager();
        await jsm.streams.delete(streamName).catch((err: unknown) => {
          // Already gone (a test deleted it) is fine.
          if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== 10059) throw err;
        });
      } finally {
        await c.close();
      }
    });

    const s3server = await startS3Server({ port: 0 });
    undo.push(() => s3server.stop());
    const url = new URL(s3server.url);
    const s3: S3Config = Object.freeze({
      endPoint: url.hostname,
      port: s3server.port,
      useSSL: false,
      accessKey: S3RVER_KEY,
      secretKey: S3RVER_KEY,
      bucket,
      region: 'us-east-1',
    });
    await createArtifactStore(s3).ensureBucket();

    const env: Record<string, string> = {
      REFIT_PG_URL: pgUrl,
      REFIT_SCHEMA_PREFIX: schemaPrefix,
      REFIT_NATS_URL: natsUrl,
      REFIT_STREAM: streamName,
      REFIT_SUBJECT_PREFIX: subjectPrefix,
      REFIT_S3_URL: s3server.url,
      REFIT_S3_ACCESS_KEY: S3RVER_KEY,
      REFIT_S3_SECRET_KEY: S3RVER_KEY,
      REFIT_S3_BUCKET: bucket,
      REFIT_S3_REGION: 'us-east-1',
      REFIT_LOG_LEVEL: process.env.REFIT_TEST_LOG_LEVEL ?? 'warn',
    };

    return {
      id,
      pgUrl,
      natsUrl,
      schemaPrefix,
      schema: (service) => `${schemaPrefix}${service.replaceAll('-', '_')}`,
      streamName,
      subjectPrefix,
      s3,
      env,
      config: (service, defaultGrpcPort = 0) => loadBaseConfig(service, { defaultGrpcPort, env }),
      cleanup,
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}

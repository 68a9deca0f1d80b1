/**
 * Service configuration from `REFIT_*` environment variables, validated with zod. Every service
 * calls {@link loadBaseConfig} once at start-up and passes the frozen result down explicitly.
 */
import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { envToken } from './service-address.js';
import type { TracingConfig } from './tracing/tracing.js';

export { DEFAULT_PORTS, serviceAddress, type ServiceName } from './service-address.js';

/** Where and how to reach the S3-compatible object store (shape of the minio client options). */
export interface S3Config {
  /** Host name or IP of the endpoint (from `REFIT_S3_URL`, default `http://127.0.0.1:9000`). */
  readonly endPoint: string;
  /** Port of the endpoint (from `REFIT_S3_URL`; 80/443 when the URL has none). */
  readonly port: number;
  /** True for an `https:` URL (from `REFIT_S3_URL`; default false). */
  readonly useSSL: boolean;
  /** Access key (`REFIT_S3_ACCESS_KEY`, default `S3RVER`). */
  readonly accessKey: string;
  /** Secret key (`REFIT_S3_SECRET_KEY`, default `S3RVER`). */
  readonly secretKey: string;
  /** Bucket holding every artifact (`REFIT_S3_BUCKET`, default `refit`). */
  readonly bucket: string;
  /** Region (`REFIT_S3_REGION`, default `us-east-1`). */
  readonly region: string;
}

/**
 * Where a service finds its security material. Every path is a file or folder mounted from a
 * secret; nothing here is generated at start-up. Left out in development, a service runs plaintext
 * and unauthenticated with a warning; in production ({@link BaseConfig.environment}) the TLS folder
 * and the event keys are required.
 */
export interface SecurityConfig {
  /**
   * Folder holding `ca.crt` (the CA every peer's certificate must chain to), `tls.crt` and
   * `tls.key` (this service's certificate, used as the gRPC server certificate and as the client
   * certificate of its calls to other services): `REFIT_TLS_DIR`, the layout of a Kubernetes TLS
   * secret. Default none: plaintext gRPC, every caller anonymous.
   */
  readonly tlsDir?: string;
  /**
   * PEM file of the Ed25519 public key bearer tokens are verified with (`REFIT_TOKEN_PUBLIC_KEY`).
   * Default none: only client certificates authenticate.
   */
  readonly tokenPublicKeyFile?: string;
  /** PEM file of this service's Ed25519 private key, which signs its events (`REFIT_EVENT_KEY`). Default none: unsigned. */
  readonly eventKeyFile?: string;
  /**
   * Folder of `<service>.pub.pem` (or `<service>.<anything>.pub.pem`, for rotation) public keys
   * that events are verified with (`REFIT_EVENT_KEYS_DIR`). Default none: events are not verified.
   */
  readonly eventKeysDir?: string;
  /** NATS user name (`REFIT_NATS_USER`). Default none (no NATS authentication). */
  readonly natsUser?: string;
  /** NATS password (`REFIT_NATS_PASSWORD`). Default none. */
  readonly natsPassword?: string;
}

/** `development` (the default) or `production` (`REFIT_ENV`). */
export type Environment = 'development' | 'production';

/** What a service does with its schema's migrations at start (`REFIT_MIGRATE`). */
export const MIGRATE_MODES = ['apply', 'only', 'verify'] as const;
/** One of {@link MIGRATE_MODES}: see {@link BaseConfig.migrate}. */
export type MigrateMode = (typeof MIGRATE_MODES)[number];

/** Settings every Refit service shares. */
export interface BaseConfig {
  /** Service name, e.g. `trainer`. */
  readonly service: string;
  /** Interface the gRPC server binds (`REFIT_GRPC_HOST`, default `127.0.0.1`). */
  readonly grpcHost: string;
  /** gRPC port (`REFIT_<SERVICE>_GRPC_PORT`, default the service's default port; 0 = ephemeral). */
  readonly grpcPort: number;
  /**
   * A plaintext port that answers only the gRPC health service (`REFIT_HEALTH_PORT`, default 0 =
   * none), for probes that cannot speak TLS (Kubernetes' `grpc:` probes). Health reveals nothing
   * and changes nothing.
   */
  readonly healthPort: number;
  /**
   * Port of the Prometheus endpoint, `GET /metrics` on the gRPC host (`REFIT_METRICS_PORT`,
   * default 0 = none).
   */
  readonly metricsPort: number;
  /** Postgres connection URL (`REFIT_PG_URL`, default `postgres://postgres@127.0.0.1:5432/refit`). */
  readonly pgUrl: string;
  /** The service's Postgres schema: `REFIT_SCHEMA_PREFIX` (default `refit_`) + service name. */
  readonly pgSchema: string;
  /** NATS server URL (`REFIT_NATS_URL`, default `nats://127.0.0.1:4222`). */
  readonly natsUrl: string;
  /** JetStream stream holding every Refit event (`REFIT_STREAM`, default `REFIT`). */
  readonly streamName: string;
  /** First token of every event subject (`REFIT_SUBJECT_PREFIX`, default `refit`). */
  readonly subjectPrefix: string;
  /** Object store settings (`REFIT_S3_*`). */
  readonly s3: S3Config;
  /** pino log level (`REFIT_LOG_LEVEL`, default `info`). */
  readonly logLevel: LogLevel;
  /** How long JetStream waits for an ack before redelivering (`REFIT_ACK_WAIT_MS`, default 30000). */
  readonly ackWaitMs: number;
  /**
   * Failures of one event that are neither transient nor permanent (a bug?) before it is
   * dead-lettered, and deliveries that ended without any outcome (crashes) before it is given up
   * (`REFIT_MAX_DELIVER`, default 5). Transient failures do not count: see {@link BaseConfig.retryHorizonMs}.
   */
  readonly maxDeliver: number;
  /** Most Postgres connections of the service's pool (`REFIT_PG_POOL_MAX`, default 10). */
  readonly pgPoolMax: number;
  /** Delay before a failed event's first retry, doubled at each further one (`REFIT_RETRY_BASE_MS`, default 1000). */
  readonly retryBaseMs: number;
  /** Longest delay between two retries of an event (`REFIT_RETRY_MAX_DELAY_MS`, default 30000). */
  readonly retryMaxDelayMs: number;
  /**
   * How long an event may keep failing transiently (a dependency down: Postgres, NATS, S3, another
   * service) from its first failure before it is dead-lettered and its run failed
   * (`REFIT_RETRY_HORIZON_MS`, default 600000 = 10 min).
   */
  readonly retryHorizonMs: number;
  /** Time between readiness probes of Postgres and NATS (`REFIT_READINESS_PROBE_MS`, default 2000). */
  readonly readinessProbeMs: number;
  /** Most characters of a gRPC request's string field or an external event's (`REFIT_MAX_TEXT_CHARS`, default 4096; see proto-checks.ts). */
  readonly maxTextChars: number;
  /** Time each shutdown step may take (`REFIT_SHUTDOWN_GRACE_MS`, default 10000). */
  readonly shutdownGraceMs: number;
  /**
   * `REFIT_ENV`, default `development`. In `production` a service refuses to start without TLS
   * material and event keys, or with the development S3 keys.
   */
  readonly environment: Environment;
  /**
   * What the service does with its schema's migrations (`REFIT_MIGRATE`, default `apply`):
   * - `apply`: creates the database if missing and applies pending migrations, then serves
   *   (development, compose, tests; needs the rights to create databases and schemas);
   * - `only`: the same, logs what was applied and exits 0 without opening gRPC, NATS or the object
   *   store (a Kubernetes Job run with the schema owner's credentials). The production checks of
   *   TLS, event keys and NATS user are skipped: this process uses none of them;
   * - `verify`: applies nothing, and refuses to start unless every migration of the service is
   *   applied with the same checksum (a Deployment run as a user without DDL rights).
   */
  readonly migrate: MigrateMode;
  /** TLS, token and event-signing material (see {@link SecurityConfig}). */
  readonly security: Readonly<SecurityConfig>;
  /** OpenTelemetry traces (`REFIT_OTEL_*`; see {@link TracingConfig}). Default off. */
  readonly tracing: Readonly<TracingConfig>;
}

/** Levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;
// NATS subject tokens and stream names: no wildcards, separators or whitespace.
const NATS_TOKEN = /^[A-Za-z0-9_-]+$/;

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = (protocols: string[]) =>
  z.string().refine((v) => URL.canParse(v) && protocols.includes(new URL(v).protocol), {
    message: `expected a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL`,
  });

/** Reads one variable with its default and schema; a bad value names the variable and what was expected. */
function read<T>(env: NodeJS.ProcessEnv, name: string, fallback: string, schema: z.ZodType<T>, expected: string): T {
  const raw = env[name];
  const value = raw === undefined || raw.trim() === '' ? fallback : raw.trim();
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InvalidInputError(`invalid ${name}=${JSON.stringify(raw)}: expected ${expected}`, {
      details: { variable: name, value: raw, expected, issues: result.error.issues.map((i) => i.message) },
    });
  }
  return result.data;
}

/** Parses `REFIT_S3_URL` into the minio client's endPoint/port/useSSL. */
function parseS3Url(env: NodeJS.ProcessEnv): Pick<S3Config, 'endPoint' | 'port' | 'useSSL'> {
  const raw = read(env, 'REFIT_S3_URL', 'http://127.0.0.1:9000', url(['http:', 'https:']), 'an http(s) URL such as http://127.0.0.1:9000');
  const u = new URL(raw);
  const useSSL = u.protocol === 'https:';
  // URL.hostname keeps the brackets of an IPv6 literal; minio wants the bare address.
  const endPoint = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { endPoint, port: u.port === '' ? (useSSL ? 443 : 80) : Number(u.port), useSSL };
}

/**
 * Loads and validates the configuration shared by every service.
 *
 * @param service - lower-case service name (`trainer`); used for the port variable and schema name.
 * @param opts.defaultGrpcPort - port used when `REFIT_<SERVICE>_GRPC_PORT` is unset.
 * @param opts.env - variables to read (default `process.env`).
 * @throws InvalidInputError naming the variable and the expected value when one is malformed.
 */
export function loadBaseConfig(service: string, opts: { defaultGrpcPort: number; env?: NodeJS.ProcessEnv }): Readonly<BaseConfig> {
  if (!SERVICE_NAME.test(service)) {
    throw new InvalidInputError(`invalid service name ${JSON.stringify(service)}: expected lower-case letters, digits and '-'`);
  }
  const env = opts.env ?? process.env;
  const token = envToken(service);
  const portVar = `REFIT_${token}_GRPC_PORT`;

  const schemaPrefix = read(env, 'REFIT_SCHEMA_PREFIX', 'refit_', z.string().regex(/^[a-z_][a-z0-9_]*$/), 'lower-case letters, digits and _ (e.g. refit_)');
  const pgSchema = `${schemaPrefix}${service.replaceAll('-', '_')}`;
  if (!SCHEMA_NAME.test(pgSchema) || pgSchema.length > 63) {
    throw new InvalidInputError(`invalid REFIT_SCHEMA_PREFIX: schema name ${pgSchema} is not a valid Postgres identifier of at most 63 characters`);
  }

  const s3: S3Config = Object.freeze({
    ...parseS3Url(env),
    accessKey: read(env, 'REFIT_S3_ACCESS_KEY', 'S3RVER', z.string().min(1), 'a non-empty access key'),
    secretKey: read(env, 'REFIT_S3_SECRET_KEY', 'S3RVER', z.string().min(1), 'a non-empty secret key'),
    bucket: read(env, 'REFIT_S3_BUCKET', 'refit', z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/), 'an S3 bucket name (3-63 lower-case letters, digits, . and -)'),
    region: read(env, 'REFIT_S3_REGION', 'us-east-1', z.string().regex(/^[a-z0-9-]+$/), 'a region such as us-east-1'),
  });

  const optional = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const security: SecurityConfig = Object.freeze({
    tlsDir: optional('REFIT_TLS_DIR'),
    tokenPublicKeyFile: optional('REFIT_TOKEN_PUBLIC_KEY'),
    eventKeyFile: optional('REFIT_EVENT_KEY'),
    eventKeysDir: optional('REFIT_EVENT_KEYS_DIR'),
    natsUser: optional('REFIT_NATS_USER'),
    natsPassword: env.REFIT_NATS_PASSWORD || undefined,
  });
  const environment = read(env, 'REFIT_ENV', 'development', z.enum(['development', 'production']), 'development or production');
  const migrate = read(env, 'REFIT_MIGRATE', 'apply', z.enum(MIGRATE_MODES), MIGRATE_MODES.join(', '));
  // A migration Job serves nothing and holds no keys: it must not need the service's secrets.
  if (environment === 'production' && migrate !== 'only') refuseUnsafeProduction(s3, security);
  // The standard OpenTelemetry variable is honoured too, so a platform's usual injection works.
  const endpointVar = ['REFIT_OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'].find((v) => optional(v) !== undefined);

  const config: BaseConfig = {
    service,
    grpcHost: read(env, 'REFIT_GRPC_HOST', '127.0.0.1', z.string().regex(/^[^\s/]+$/), 'a host name or IP address'),
    grpcPort: read(env, portVar, String(opts.defaultGrpcPort), intIn(0, 65535), 'a port number 0-65535 (0 = ephemeral)'),
    healthPort: read(env, 'REFIT_HEALTH_PORT', '0', intIn(0, 65535), 'a port number 1-65535, or 0 for none'),
    metricsPort: read(env, 'REFIT_METRICS_PORT', '0', intIn(0, 65535), 'a port number 1-65535, or 0 for none'),
    pgUrl: read(env, 'REFIT_PG_URL', 'postgres://postgres@127.0.0.1:5432/refit', url(['postgres:', 'postgresql:']), 'a postgres:// URL'),
    pgSchema,
    natsUrl: read(env, 'REFIT_NATS_URL', 'nats://127.0.0.1:4222', url(['nats:', 'tls:', 'ws:', 'wss:']), 'a nats:// URL'),
    streamName: read(env, 'REFIT_STREAM', 'REFIT', z.string().regex(NATS_TOKEN), 'a stream name of letters, digits, _ and -'),
    subjectPrefix: read(env, 'REFIT_SUBJECT_PREFIX', 'refit', z.string().regex(NATS_TOKEN), 'one subject token of letters, digits, _ and -'),
    s3,
    logLevel: read(env, 'REFIT_LOG_LEVEL', 'info', z.enum(LOG_LEVELS), `one of ${LOG_LEVELS.join(', ')}`),
    ackWaitMs: read(env, 'REFIT_ACK_WAIT_MS', '30000', intIn(1000, 24 * 3600 * 1000), 'milliseconds, at least 1000'),
    maxDeliver: read(env, 'REFIT_MAX_DELIVER', '5', intIn(1, 1000), 'an integer 1-1000'),
    pgPoolMax: read(env, 'REFIT_PG_POOL_MAX', '10', intIn(1, 1000), 'an integer 1-1000'),
    retryBaseMs: read(env, 'REFIT_RETRY_BASE_MS', '1000', intIn(1, 3600 * 1000), 'milliseconds, 1 or more'),
    retryMaxDelayMs: read(env, 'REFIT_RETRY_MAX_DELAY_MS', '30000', intIn(1, 24 * 3600 * 1000), 'milliseconds, 1 or more'),
    retryHorizonMs: read(env, 'REFIT_RETRY_HORIZON_MS', '600000', intIn(0, 7 * 24 * 3600 * 1000), 'milliseconds, 0 or more'),
    readinessProbeMs: read(env, 'REFIT_READINESS_PROBE_MS', '2000', intIn(100, 3600 * 1000), 'milliseconds, at least 100'),
    maxTextChars: read(env, 'REFIT_MAX_TEXT_CHARS', '4096', intIn(64, 1 << 20), 'an integer 64-1048576'),
    shutdownGraceMs: read(env, 'REFIT_SHUTDOWN_GRACE_MS', '10000', intIn(0, 3600 * 1000), 'milliseconds, 0 or more'),
    environment,
    migrate,
    security,
    tracing: Object.freeze({
      otlpEndpoint: endpointVar && read(env, endpointVar, '', url(['http:', 'https:']), 'an http(s) URL such as http://127.0.0.1:4318'),
      sampleRatio: read(env, 'REFIT_OTEL_SAMPLE_RATIO', '1', z.coerce.number().min(0).max(1), 'a number 0-1'),
    }),
  };
  return Object.freeze(config);
}

/** The development S3 keys (s3rver's); a production service refuses them. */
const DEVELOPMENT_S3_KEYS = new Set(['S3RVER', 'minioadmin']);

/** Throws, naming every missing or unsafe setting, when a production service would run insecurely. */
function refuseUnsafeProduction(s3: S3Config, security: SecurityConfig): void {
  const problems: string[] = [];
  if (DEVELOPMENT_S3_KEYS.has(s3.accessKey) || DEVELOPMENT_S3_KEYS.has(s3.secretKey)) problems.push('REFIT_S3_ACCESS_KEY/REFIT_S3_SECRET_KEY are development defaults: set the object store credentials from a secret');
  if (!security.tlsDir) problems.push('REFIT_TLS_DIR is not set: mount a folder with ca.crt, tls.crt and tls.key');
  if (!security.eventKeyFile) problems.push('REFIT_EVENT_KEY is not set: mount this service\'s Ed25519 event signing key');
  if (!security.eventKeysDir) problems.push('REFIT_EVENT_KEYS_DIR is not set: mount the folder of every service\'s event public key');
  if (!security.natsUser || !security.natsPassword) problems.push('REFIT_NATS_USER/REFIT_NATS_PASSWORD are not set: give the service its own NATS user');
  if (problems.length > 0) {
    throw new InvalidInputError(`REFIT_ENV=production refuses to start insecurely:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
}

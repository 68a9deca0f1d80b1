import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS, loadBaseConfig, serviceAddress } from './config.js';
import { InvalidInputError } from './errors.js';

describe('loadBaseConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadBaseConfig('trainer', { defaultGrpcPort: 50054, env: {} });
    expect(c).toEqual({
      service: 'trainer',
      grpcHost: '127.0.0.1',
      grpcPort: 50054,
      healthPort: 0,
      metricsPort: 0,
      pgUrl: 'postgres://postgres@127.0.0.1:5432/refit',
      pgSchema: 'refit_trainer',
      natsUrl: 'nats://127.0.0.1:4222',
      streamName: 'REFIT',
      subjectPrefix: 'refit',
      s3: { endPoint: '127.0.0.1', port: 9000, useSSL: false, accessKey: 'S3RVER', secretKey: 'S3RVER', bucket: 'refit', region: 'us-east-1' },
      logLevel: 'info',
      ackWaitMs: 30000,
      maxDeliver: 5,
      pgPoolMax: 10,
      retryBaseMs: 1000,
      retryMaxDelayMs: 30000,
      retryHorizonMs: 600000,
      readinessProbeMs: 2000,
      maxTextChars: 4096,
      shutdownGraceMs: 10000,
      environment: 'development',
      migrate: 'apply',
      security: { tlsDir: undefined, tokenPublicKeyFile: undefined, eventKeyFile: undefined, eventKeysDir: undefined, natsUser: undefined, natsPassword: undefined },
      tracing: { otlpEndpoint: undefined, sampleRatio: 1 },
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.s3)).toBe(true);
  });

  it('reads every variable', () => {
    const c = loadBaseConfig('model-registry', {
      defaultGrpcPort: 1,
      env: {
        REFIT_GRPC_HOST: '0.0.0.0',
        REFIT_MODEL_REGISTRY_GRPC_PORT: '0',
        REFIT_PG_URL: 'postgresql://u:p@db:5433/x',
        REFIT_SCHEMA_PREFIX: 't_ab12cd_',
        REFIT_NATS_URL: 'nats://nats:4222',
        REFIT_STREAM: 'T_AB12CD',
        REFIT_SUBJECT_PREFIX: 't_ab12cd',
        REFIT_S3_URL: 'https://s3.example.com',
        REFIT_S3_ACCESS_KEY: 'ak',
        REFIT_S3_SECRET_KEY: 'sk',
        REFIT_S3_BUCKET: 'artifacts',
        REFIT_S3_REGION: 'eu-west-1',
        REFIT_LOG_LEVEL: 'debug',
        REFIT_ACK_WAIT_MS: '1000',
        REFIT_MAX_DELIVER: '3',
        REFIT_SHUTDOWN_GRACE_MS: '0',
        REFIT_PG_POOL_MAX: '25',
        REFIT_RETRY_BASE_MS: '50',
        REFIT_RETRY_MAX_DELAY_MS: '2000',
        REFIT_RETRY_HORIZON_MS: '60000',
        REFIT_READINESS_PROBE_MS: '500',
        REFIT_MAX_TEXT_CHARS: '256',
      },
    });
    expect(c.grpcHost).toBe('0.0.0.0');
    expect(c.grpcPort).toBe(0);
    expect(c.pgSchema).toBe('t_ab12cd_model_registry');
    expect(c.s3).toMatchObject({ endPoint: 's3.example.com', port: 443, useSSL: true, bucket: 'artifacts', region: 'eu-west-1' });
    expect(c).toMatchObject({ logLevel: 'debug', ackWaitMs: 1000, maxDeliver: 3, shutdownGraceMs: 0, streamName: 'T_AB12CD' });
    expect(c).toMatchObject({ pgPoolMax: 25, retryBaseMs: 50, retryMaxDelayMs: 2000, retryHorizonMs: 60000, readinessProbeMs: 500, maxTextChars: 256 });
  });

  it.each([
    ['REFIT_TRAINER_GRPC_PORT', 'abc', /REFIT_TRAINER_GRPC_PORT.*port number/],
    ['REFIT_TRAINER_GRPC_PORT', '70000', /REFIT_TRAINER_GRPC_PORT/],
    ['REFIT_PG_URL', 'mysql://x', /REFIT_PG_URL.*postgres/],
    ['REFIT_S3_URL', 'ftp://x', /REFIT_S3_URL.*http/],
    ['REFIT_LOG_LEVEL', 'loud', /REFIT_LOG_LEVEL.*one of/],
    ['REFIT_MAX_DELIVER', '0', /REFIT_MAX_DELIVER/],
    ['REFIT_ACK_WAIT_MS', '1.5', /REFIT_ACK_WAIT_MS/],
    ['REFIT_SUBJECT_PREFIX', 'a.b', /REFIT_SUBJECT_PREFIX/],
    ['REFIT_SCHEMA_PREFIX', 'Bad-', /REFIT_SCHEMA_PREFIX/],
    ['REFIT_PG_POOL_MAX', '0', /REFIT_PG_POOL_MAX/],
    ['REFIT_RETRY_HORIZON_MS', '-1', /REFIT_RETRY_HORIZON_MS/],
    ['REFIT_RETRY_BASE_MS', 'soon', /REFIT_RETRY_BASE_MS/],
    ['REFIT_OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', /REFIT_OTEL_EXPORTER_OTLP_ENDPOINT.*http/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://x', /OTEL_EXPORTER_OTLP_ENDPOINT.*http/],
    ['REFIT_OTEL_SAMPLE_RATIO', '1.5', /REFIT_OTEL_SAMPLE_RATIO/],
    ['REFIT_METRICS_PORT', '65536', /REFIT_METRICS_PORT.*port number/],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    const load = () => loadBaseConfig('trainer', { defaultGrpcPort: 50054, env: { [name]: value } });
    expect(load).toThrow(InvalidInputError);
    expect(load).toThrow(message);
  });
});

describe('tracing settings', () => {
  it('takes the Refit endpoint first, else the standard OpenTelemetry one', () => {
    const load = (env: Record<string, string>) => loadBaseConfig('trainer', { defaultGrpcPort: 1, env }).tracing;
    expect(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' })).toEqual({ otlpEndpoint: 'http://otel:4318', sampleRatio: 1 });
    expect(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', REFIT_OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4318', REFIT_OTEL_SAMPLE_RATIO: '0.25' })).toEqual({ otlpEndpoint: 'https://c:4318', sampleRatio: 0.25 });
  });
});

describe('production mode', () => {
  it('refuses to start with the development S3 keys, without TLS, event keys or a NATS user, naming each', () => {
    let message = '';
    try {
      loadBaseConfig('registry', { defaultGrpcPort: 1, env: { REFIT_ENV: 'production' } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/REFIT_ENV=production refuses to start insecurely/);
    for (const v of ['REFIT_S3_ACCESS_KEY', 'REFIT_TLS_DIR', 'REFIT_EVENT_KEY is', 'REFIT_EVENT_KEYS_DIR', 'REFIT_NATS_USER']) expect(message).toContain(v);
  });

  it('starts when every secret is given', () => {
    const c = loadBaseConfig('registry', {
      defaultGrpcPort: 1,
      env: {
        REFIT_ENV: 'production',
        REFIT_S3_ACCESS_KEY: 'k',
        REFIT_S3_SECRET_KEY: 's',
        REFIT_TLS_DIR: '/tls',
        REFIT_EVENT_KEY: '/keys/event.key',
        REFIT_EVENT_KEYS_DIR: '/keys/public',
        REFIT_NATS_USER: 'registry',
        REFIT_NATS_PASSWORD: 'pw',
      },
    });
    expect(c.environment).toBe('production');
    expect(c.security.tlsDir).toBe('/tls');
  });

  it('lets a one-shot migration (REFIT_MIGRATE=only) start without the serving secrets, and only it', () => {
    const env = { REFIT_ENV: 'production', REFIT_PG_URL: 'postgres://owner:pw@db:5432/refit' };
    expect(loadBaseConfig('registry', { defaultGrpcPort: 1, env: { ...env, REFIT_MIGRATE: 'only' } }).migrate).toBe('only');
    expect(() => loadBaseConfig('registry', { defaultGrpcPort: 1, env: { ...env, REFIT_MIGRATE: 'verify' } })).toThrow(/refuses to start insecurely/);
  });
});

describe('REFIT_MIGRATE', () => {
  it('is apply by default, reads only and verify, and names the choices for anything else', () => {
    const load = (v?: string) => loadBaseConfig('trainer', { defaultGrpcPort: 1, env: v === undefined ? {} : { REFIT_MIGRATE: v } }).migrate;
    expect(load()).toBe('apply');
    expect(load('only')).toBe('only');
    expect(load(' verify ')).toBe('verify');
    expect(() => load('yes')).toThrow(/invalid REFIT_MIGRATE="yes": expected apply, only, verify/);
  });
});

describe('serviceAddress', () => {
  it('uses REFIT_<NAME>_ADDR, else the default port', () => {
    expect(serviceAddress('registry', {})).toBe(`127.0.0.1:${DEFAULT_PORTS.registry}`);
    expect(serviceAddress('trigger', {})).toBe('127.0.0.1:50051');
    expect(serviceAddress('deployer', {})).toBe('127.0.0.1:50057');
    expect(serviceAddress('registry', { REFIT_REGISTRY_ADDR: 'registry:7000' })).toBe('registry:7000');
  });

  it('refuses an unknown service without an address', () => {
    expect(() => serviceAddress('nope', {})).toThrow(InvalidInputError);
    expect(serviceAddress('nope', { REFIT_NOPE_ADDR: 'h:1' })).toBe('h:1');
  });
});

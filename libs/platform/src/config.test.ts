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
      pgUrl: 'postgres://postgres@127.0.0.1:5432/refit',
      pgSchema: 'refit_trainer',
      natsUrl: 'nats://127.0.0.1:4222',
      streamName: 'REFIT',
      subjectPrefix: 'refit',
      s3: { endPoint: '127.0.0.1', port: 9000, useSSL: false, accessKey: 'S3RVER', secretKey: 'S3RVER', bucket: 'refit', region: 'us-east-1' },
      logLevel: 'info',
      ackWaitMs: 30000,
      maxDeliver: 5,
      shutdownGraceMs: 10000,
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
      },
    });
    expect(c.grpcHost).toBe('0.0.0.0');
    expect(c.grpcPort).toBe(0);
    expect(c.pgSchema).toBe('t_ab12cd_model_registry');
    expect(c.s3).toMatchObject({ endPoint: 's3.example.com', port: 443, useSSL: true, bucket: 'artifacts', region: 'eu-west-1' });
    expect(c).toMatchObject({ logLevel: 'debug', ackWaitMs: 1000, maxDeliver: 3, shutdownGraceMs: 0, streamName: 'T_AB12CD' });
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
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    const load = () => loadBaseConfig('trainer', { defaultGrpcPort: 50054, env: { [name]: value } });
    expect(load).toThrow(InvalidInputError);
    expect(load).toThrow(message);
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

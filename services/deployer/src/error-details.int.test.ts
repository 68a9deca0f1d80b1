// A real deployer answers invalid Predict requests with the standard gRPC error model: a
// google.rpc.Status in the `grpc-status-details-bin` trailer carrying ErrorInfo and BadRequest,
// read here both by Refit's client and by a bare grpc-js client that knows nothing of Refit's
// error handling (what grpcio, grpc-go or grpcurl see).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyIs, anyUnpack } from '@bufbuild/protobuf/wkt';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BadRequestSchema, DeployerService, ErrorInfoSchema, PredictRequestSchema, StatusSchema } from '@refit/contracts';
import { createClient, isInvalidInput, type GrpcCallError, type InvalidInputError, type ServiceRuntime } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, type TestEnv } from '@refit/testing';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startDeployerService } from './service.js';

const migrations = join(fileURLToPath(new URL('.', import.meta.url)), 'migrations');
const PREDICT = '/refit.deployer.v1.DeployerService/Predict';

describe('deployer error details (google.rpc.Status in grpc-status-details-bin)', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let address: string;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-errors' });
    // Predict checks its input before it asks anyone; the registry is never called here.
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: '127.0.0.1:1' }));
    rt = await startTestRuntime(config, migrations);
    await startDeployerService(rt, config);
    address = rt.server?.address ?? '';
  });
  afterAll(async () => {
    await rt?.close();
    await env?.cleanup();
  });

  /** Calls Predict with a plain grpc-js client: the raw status and trailers, nothing Refit-specific. */
  function rawPredict(req: MessageInitShape<typeof PredictRequestSchema>): Promise<ServiceError> {
    const client = new Client(address, credentials.createInsecure());
    return new Promise<ServiceError>((resolve, reject) => {
      client.makeUnaryRequest(
        PREDICT,
        (r: MessageInitShape<typeof PredictRequestSchema>) => Buffer.from(toBinary(PredictRequestSchema, create(PredictRequestSchema, r))),
        (b: Buffer) => b,
        req,
        new Metadata(),
        (err) => {
          client.close();
          if (err) resolve(err);
          else reject(new Error('Predict succeeded; expected INVALID_ARGUMENT'));
        },
      );
    });
  }

  it('a bare grpc-js client decodes the Status, its ErrorInfo and the BadRequest field violation', async () => {
    const err = await rawPredict({ pipeline: 'weather-rain', rows: [{ temp_max: 10 }, { temp_max: 11, wind: { gusts: 3 } }] });
    expect(err.code, err.details).toBe(status.INVALID_ARGUMENT);
    const [raw] = err.metadata.get('grpc-status-details-bin');
    expect(Buffer.isBuffer(raw)).toBe(true);
    const st = fromBinary(StatusSchema, raw as Buffer);
    expect(st.code).toBe(status.INVALID_ARGUMENT);
    expect(st.message).toBe(err.details);
    expect(st.details.map((d) => d.typeUrl)).toEqual(['type.googleapis.com/google.rpc.ErrorInfo', 'type.googleapis.com/google.rpc.BadRequest']);
    const info = anyUnpack(st.details.find((d) => anyIs(d, ErrorInfoSchema))!, ErrorInfoSchema)!;
    expect(info.reason).toBe('INVALID_INPUT');
    expect(info.domain).toBe('refit.dev');
    expect(info.metadata).toMatchObject({ service: 'deployer', method: PREDICT, row: '1', column: 'wind' });
    const bad = anyUnpack(st.details.find((d) => anyIs(d, BadRequestSchema))!, BadRequestSchema)!;
    expect(bad.fieldViolations.map((v) => ({ field: v.field, description: v.description }))).toEqual([
      { field: 'rows[1].wind', description: 'row 1: column "wind" is a struct; a feature value is a number, string, bool or null' },
    ]);
    // The legacy trailer is still sent, for one release.
    expect(JSON.parse((err.metadata.get('refit-error-details-bin')[0] as Buffer).toString())).toEqual({ row: 1, column: 'wind' });
  });

  it("Refit's client turns the standard details into the error's violations and reason", async () => {
    const client = createClient(DeployerService, address);
    try {
      const err = await client.predict({ pipeline: 'weather-rain', columns: ['temp_max', 'wind'], values: [1, 2, 3, Number.POSITIVE_INFINITY] }).catch((e: unknown) => e);
      expect(isInvalidInput(err)).toBe(true);
      const e = err as InvalidInputError & GrpcCallError;
      expect(e.violations).toEqual([{ field: 'values[3]', description: e.message }]);
      expect(e.field).toBe('values[3]');
      expect(e.reason).toBe('INVALID_INPUT');
      expect(e.statusDetails?.errorInfo).toMatchObject({ domain: 'refit.dev', metadata: { service: 'deployer', method: PREDICT } });
      expect(e.statusDetails?.retryInfo).toBeUndefined();
    } finally {
      client.close();
    }
  });
});

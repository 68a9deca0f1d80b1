import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, RefitError, UnavailableError } from '../errors.js';
import { ERROR_DOMAIN, STATUS_DETAILS_KEY, decodeStatusDetails, encodeStatusDetails, readStatusDetails, type StatusDetails } from './status-details.js';
import { ERROR_DETAILS_KEY, toRefitError, toStatus, type GrpcCallError } from './status.js';
import type { GrpcLogger } from './types.js';

const quiet: GrpcLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The fields of a protobuf message as [number, bytes | varint], read with no generated code. */
function fields(bytes: Uint8Array): Array<[number, Uint8Array | bigint]> {
  const r = new BinaryReader(bytes);
  const out: Array<[number, Uint8Array | bigint]> = [];
  while (r.pos < r.len) {
    const [no, wire] = r.tag();
    out.push([no, wire === 2 ? r.bytes() : BigInt(r.uint64())]);
  }
  return out;
}
const text = (b: Uint8Array | bigint): string => new TextDecoder().decode(b as Uint8Array);

function serviceError(st: { code: status; details: string; metadata: Metadata }): ServiceError {
  return Object.assign(new Error(st.details), st);
}

describe('google.rpc.Status details', () => {
  const full: StatusDetails = {
    code: status.INVALID_ARGUMENT,
    message: 'row 2: column "age" is not a finite number: Infinity',
    errorInfo: { reason: 'INVALID_INPUT', domain: ERROR_DOMAIN, metadata: { service: 'deployer', method: '/refit.deployer.v1.DeployerService/Predict' } },
    badRequest: { fieldViolations: [{ field: 'rows[2].age', description: 'not a finite number' }] },
    retryInfo: { retryDelayMs: 1500 },
  };

  it('round-trips code, message, ErrorInfo, BadRequest and RetryInfo', () => {
    expect(decodeStatusDetails(encodeStatusDetails(full))).toEqual(full);
    expect(decodeStatusDetails(encodeStatusDetails({ code: 5, message: 'gone' }))).toEqual({ code: 5, message: 'gone' });
  });

  it('uses googleapis field numbers and type URLs on the wire (read back with no generated code)', () => {
    const st = fields(encodeStatusDetails(full));
    expect(st[0]).toEqual([1, BigInt(status.INVALID_ARGUMENT)]);
    expect(st[1][0]).toBe(2);
    expect(text(st[1][1])).toBe(full.message);
    const anys = st.filter(([no]) => no === 3).map(([, b]) => fields(b as Uint8Array));
    expect(anys.map((a) => text(a[0][1]))).toEqual([
      'type.googleapis.com/google.rpc.ErrorInfo',
      'type.googleapis.com/google.rpc.BadRequest',
      'type.googleapis.com/google.rpc.RetryInfo',
    ]);
    const info = fields(anys[0][1][1] as Uint8Array);
    expect(info.slice(0, 2).map(([no, v]) => [no, text(v)])).toEqual([[1, 'INVALID_INPUT'], [2, 'refit.dev']]);
    expect(info.filter(([no]) => no === 3)).toHaveLength(2); // map<string,string> metadata = 3
    const violation = fields(fields(anys[1][1][1] as Uint8Array)[0][1] as Uint8Array);
    expect(violation.map(([no, v]) => [no, text(v)])).toEqual([[1, 'rows[2].age'], [2, 'not a finite number']]);
    const delay = fields(fields(anys[2][1][1] as Uint8Array)[0][1] as Uint8Array); // Duration{seconds=1, nanos=2}
    expect(delay).toEqual([[1, 1n], [2, 500_000_000n]]);
  });

  it('skips detail types it does not know and answers undefined for bytes that are no Status', () => {
    const w = new BinaryWriter();
    w.uint32((1 << 3) | 0).int32(3);
    w.uint32((3 << 3) | 2).bytes(new BinaryWriter().uint32((1 << 3) | 2).string('type.googleapis.com/google.rpc.Help').uint32((2 << 3) | 2).bytes(new Uint8Array([1, 2])).finish());
    expect(decodeStatusDetails(w.finish())).toEqual({ code: 3, message: '' });
    expect(decodeStatusDetails(new Uint8Array([0xff, 0xff, 0xff]))).toBeUndefined();
  });

  it('toStatus sends the standard trailer next to the legacy one, and toRefitError reads it back', () => {
    const err = new InvalidInputError('row 2: column "age" is not a finite number: Infinity', { field: 'rows[2].age', details: { row: 2, column: 'age' } });
    const st = toStatus(err, quiet, 'deployer', { method: '/refit.deployer.v1.DeployerService/Predict', requestId: 'r-1' });
    expect(JSON.parse((st.metadata.get(ERROR_DETAILS_KEY)[0] as Buffer).toString())).toEqual({ row: 2, column: 'age' });
    expect(readStatusDetails(st.metadata)).toEqual({
      code: status.INVALID_ARGUMENT,
      message: err.message,
      errorInfo: {
        reason: 'INVALID_INPUT',
        domain: 'refit.dev',
        metadata: { row: '2', column: 'age', service: 'deployer', method: '/refit.deployer.v1.DeployerService/Predict', requestId: 'r-1' },
      },
      badRequest: { fieldViolations: [{ field: 'rows[2].age', description: err.message }] },
    });
    const back = toRefitError(serviceError(st)) as GrpcCallError & InvalidInputError;
    expect(back).toBeInstanceOf(InvalidInputError);
    expect(back.violations).toEqual([{ field: 'rows[2].age', description: err.message }]);
    expect(back.reason).toBe('INVALID_INPUT');
    expect(back.statusDetails?.errorInfo?.domain).toBe('refit.dev');
  });

  it('derives a violation from a legacy details.field, keeps a specific reason and adds RetryInfo when unavailable', () => {
    const legacy = readStatusDetails(toStatus(new InvalidInputError('limit too big', { details: { field: 'limit' } }), quiet, 'feature').metadata);
    expect(legacy?.badRequest).toEqual({ fieldViolations: [{ field: 'limit', description: 'limit too big' }] });
    const specific = readStatusDetails(toStatus(new NotFoundError('no model', { reason: 'NO_CHAMPION' }), quiet, 'registry').metadata);
    expect(specific?.errorInfo?.reason).toBe('NO_CHAMPION');
    expect(specific?.badRequest).toBeUndefined();
    const bad = readStatusDetails(toStatus(new NotFoundError('no model', { reason: 'not upper snake' }), quiet, 'registry').metadata);
    expect(bad?.errorInfo?.reason).toBe('NOT_FOUND');
    const down = toStatus(new UnavailableError('db down', { retryAfterMs: 250 }), quiet, 'trigger');
    expect(readStatusDetails(down.metadata)?.retryInfo).toEqual({ retryDelayMs: 250 });
    expect((toRefitError(serviceError(down)) as UnavailableError).retryAfterMs).toBe(250);
    expect(readStatusDetails(toStatus(new UnavailableError('db down'), quiet, 'trigger').metadata)?.retryInfo).toEqual({ retryDelayMs: 1000 });
  });

  it('sends an internal error with reason INTERNAL and no details of the hidden error', () => {
    const st = toStatus(new RefitError('internal', 'secret', { details: { secret: 'x' } }), quiet, 'trigger', { requestId: 'r-2' });
    const d = readStatusDetails(st.metadata);
    expect(d).toMatchObject({ code: status.INTERNAL, errorInfo: { reason: 'INTERNAL', metadata: { service: 'trigger', requestId: 'r-2' } } });
    expect(d?.errorInfo?.metadata.secret).toBeUndefined();
    expect(st.metadata.get(STATUS_DETAILS_KEY)).toHaveLength(1);
  });
});

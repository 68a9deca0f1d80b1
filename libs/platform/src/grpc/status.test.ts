import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  FailedPreconditionError,
  InvalidInputError,
  NotFoundError,
  RefitError,
  UnavailableError,
  isFailedPrecondition,
  isPermanent,
} from '../errors.js';
import { ERROR_DETAILS_KEY, grpcCodeOf, isDeadlineExceeded, toRefitError, toStatus } from './status.js';
import type { GrpcLogger } from './types.js';

type Line = { level: string; obj: object; msg?: string };
function memoryLogger(): GrpcLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function serviceError(code: status, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}

describe('toStatus', () => {
  it.each([
    [new InvalidInputError('bad yaml'), status.INVALID_ARGUMENT],
    [new NotFoundError('no such run'), status.NOT_FOUND],
    [new ConflictError('exists'), status.ALREADY_EXISTS],
    [new FailedPreconditionError('no champion'), status.FAILED_PRECONDITION],
    [new UnavailableError('db down'), status.UNAVAILABLE],
  ])('maps %s to its code and keeps the message', (err, code) => {
    const st = toStatus(err, memoryLogger(), 'trigger');
    expect(st.code).toBe(code);
    expect(st.details).toBe(err.message);
  });

  it('hides unexpected errors and internal RefitErrors, logging them', () => {
    const logger = memoryLogger();
    for (const err of [new TypeError('x is undefined'), new RefitError('internal', 'invariant broken'), 'a string']) {
      const st = toStatus(err, logger, 'trigger', { requestId: 'r-9', method: '/a.B/C' });
      expect(st).toMatchObject({ code: status.INTERNAL, details: 'internal error (see the trigger log, request id r-9)' });
    }
    expect(logger.lines.map((l) => l.level)).toEqual(['error', 'error', 'error']);
    expect(logger.lines[0].obj).toMatchObject({ requestId: 'r-9', method: '/a.B/C' });
  });

  it('puts details in a binary trailer as JSON, and skips ones that cannot be serialized', () => {
    const st = toStatus(new InvalidInputError('bad', { details: { line: 4, field: 'spec.model' } }), memoryLogger(), 'trigger');
    expect(JSON.parse((st.metadata.get(ERROR_DETAILS_KEY)[0] as Buffer).toString())).toEqual({ line: 4, field: 'spec.model' });
    const big = toStatus(new InvalidInputError('bad', { details: { n: 1n } }), memoryLogger(), 'trigger');
    expect(big.metadata.get(ERROR_DETAILS_KEY)).toEqual([]);
  });

  it('logs only at debug once the call was cancelled', () => {
    const logger = memoryLogger();
    const st = toStatus(new Error('boom'), logger, 'trigger', { signal: AbortSignal.abort() });
    expect(st.code).toBe(status.CANCELLED);
    expect(logger.lines.map((l) => l.level)).toEqual(['debug']);
  });
});

describe('toRefitError', () => {
  it.each([
    [status.INVALID_ARGUMENT, InvalidInputError],
    [status.OUT_OF_RANGE, InvalidInputError],
    [status.NOT_FOUND, NotFoundError],
    [status.ALREADY_EXISTS, ConflictError],
    [status.ABORTED, ConflictError],
    [status.FAILED_PRECONDITION, FailedPreconditionError],
    [status.UNAVAILABLE, UnavailableError],
    [status.DEADLINE_EXCEEDED, UnavailableError],
    [status.CANCELLED, UnavailableError],
    [status.RESOURCE_EXHAUSTED, UnavailableError],
  ])('maps code %i to %o', (code, cls) => {
    const e = toRefitError(serviceError(code, 'the message'), '/a.B/C');
    expect(e).toBeInstanceOf(cls);
    expect(e.message).toBe('the message');
    expect(e.grpcCode).toBe(code);
    expect(e.grpcMethod).toBe('/a.B/C');
    expect(grpcCodeOf(e)).toBe(code);
  });

  it('maps everything else to an internal RefitError', () => {
    for (const code of [status.INTERNAL, status.UNKNOWN, status.UNIMPLEMENTED, status.DATA_LOSS]) {
      const e = toRefitError(serviceError(code, 'nope'));
      expect(e.constructor).toBe(RefitError);
      expect(e.kind).toBe('internal');
    }
  });

  it('restores details and keeps permanence semantics', () => {
    const md = new Metadata();
    md.set(ERROR_DETAILS_KEY, Buffer.from(JSON.stringify({ column: 'age' })));
    const e = toRefitError(serviceError(status.FAILED_PRECONDITION, 'no champion', md));
    expect(isFailedPrecondition(e)).toBe(true);
    expect(e.details).toEqual({ column: 'age' });
    expect(isPermanent(e)).toBe(true);
    expect(isPermanent(toRefitError(serviceError(status.UNAVAILABLE, 'later')))).toBe(false);
  });

  it('tells a deadline apart from other unavailability', () => {
    expect(isDeadlineExceeded(toRefitError(serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded')))).toBe(true);
    expect(isDeadlineExceeded(toRefitError(serviceError(status.UNAVAILABLE, 'down')))).toBe(false);
    expect(isDeadlineExceeded(new UnavailableError('x'))).toBe(false);
    expect(grpcCodeOf(new Error('x'))).toBeUndefined();
  });
});

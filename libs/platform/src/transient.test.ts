import { Metadata, status } from '@grpc/grpc-js';
import { ErrorCode, NatsError } from 'nats';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidInputError, NotFoundError, RefitError, UnavailableError } from './errors.js';
import { toRefitError } from './grpc/status.js';
import { isTransient } from './transient.js';

const dbError = (code: string): pg.DatabaseError => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code });
const grpcError = (code: status) => Object.assign(new Error('x'), { code, details: 'x', metadata: new Metadata() });

describe('isTransient', () => {
  it('is true for UnavailableError and what the platform maps to it', () => {
    expect(isTransient(new UnavailableError('down'))).toBe(true);
    expect(isTransient(toRefitError(grpcError(status.UNAVAILABLE)))).toBe(true);
    expect(isTransient(toRefitError(grpcError(status.DEADLINE_EXCEEDED)))).toBe(true);
  });

  it('is true for Postgres connection failures, cancelled statements, serialization failures and deadlocks', () => {
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300', '57014', '40001', '40P01']) expect(isTransient(dbError(code))).toBe(true);
    for (const code of ['23505', '42P01', '22P02', '28P01']) expect(isTransient(dbError(code))).toBe(false);
  });

  it('is true for socket errors, NATS timeouts and lost connections, S3 throttling, raw gRPC UNAVAILABLE', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']) expect(isTransient(Object.assign(new Error('x'), { code }))).toBe(true);
    for (const code of [ErrorCode.Timeout, ErrorCode.Disconnect, ErrorCode.ConnectionClosed, ErrorCode.NoResponders]) expect(isTransient(NatsError.errorForCode(code))).toBe(true);
    expect(isTransient(NatsError.errorForCode(ErrorCode.BadSubject))).toBe(false);
    expect(isTransient(Object.assign(new Error('x'), { code: 'SlowDown' }))).toBe(true);
    expect(isTransient(grpcError(status.UNAVAILABLE))).toBe(true);
    expect(isTransient(grpcError(status.INVALID_ARGUMENT))).toBe(false);
    expect(isTransient(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
  });

  it('follows causes, but a deliberate permanent error stays permanent', () => {
    const socket = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    expect(isTransient(new Error('training failed', { cause: socket }))).toBe(true);
    expect(isTransient(new RefitError('internal', 'x', { cause: socket }))).toBe(true);
    expect(isTransient(new AggregateError([socket, Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe(true);
    for (const e of [new InvalidInputError('x', { cause: socket }), new NotFoundError('x', { cause: socket }), new FailedPreconditionError('x', { cause: socket })]) {
      expect(isTransient(e)).toBe(false);
    }
  });

  it('is false for bugs and plain errors', () => {
    expect(isTransient(new Error('x'))).toBe(false);
    expect(isTransient(new TypeError('x'))).toBe(false);
    expect(isTransient('x')).toBe(false);
    expect(isTransient(undefined)).toBe(false);
    const loop: Error & { cause?: unknown } = new Error('loop');
    loop.cause = loop;
    expect(isTransient(loop)).toBe(false);
  });
});

/**
 * The standard gRPC error model: a serialized `google.rpc.Status` {code, message, details: [Any]}
 * in the `grpc-status-details-bin` trailer, with the googleapis detail messages Refit uses —
 * `ErrorInfo` (an UPPER_SNAKE reason, the domain `refit.dev`, metadata), `BadRequest` (field
 * violations) and `RetryInfo` (how long to wait). grpcio (`grpc_status.rpc_status`), grpc-go
 * (`status.FromError(err).Details()`) and grpcurl read it without anything Refit-specific.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type Any, DurationSchema, anyIs, anyPack, anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Metadata } from '@grpc/grpc-js';
import {
  BadRequest_FieldViolationSchema,
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
  StatusSchema,
} from '@refit/contracts';
import type { ErrorKind, FieldViolation } from '../errors.js';

/** The trailing-metadata key of the serialized google.rpc.Status (the gRPC standard's). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** The `domain` of every ErrorInfo Refit sends. */
export const ERROR_DOMAIN = 'refit.dev';

/** google.rpc.ErrorInfo, as plain data. */
export type ErrorInfoDetail = { reason: string; domain: string; metadata: Record<string, string> };

/** What a google.rpc.Status says, as plain data (the details Refit does not know are left out). */
export type StatusDetails = {
  /** The gRPC status code (the numbers of google.rpc.Code). */
  code: number;
  message: string;
  errorInfo?: ErrorInfoDetail;
  /** google.rpc.BadRequest: every bad field of the request. */
  badRequest?: { fieldViolations: FieldViolation[] };
  /** google.rpc.RetryInfo: wait at least this long before retrying. */
  retryInfo?: { retryDelayMs: number };
};

/** The ErrorInfo reason of an error kind: `invalid_input` → `INVALID_INPUT`. */
export const reasonOfKind = (kind: ErrorKind): string => kind.toUpperCase();

/** True for a reason googleapis allows: UPPER_SNAKE_CASE, at most 63 characters. */
export const isValidReason = (reason: string): boolean => reason.length <= 63 && /^[A-Z][A-Z0-9_]*[A-Z0-9]$/.test(reason);

/** True for an ErrorInfo metadata key googleapis allows (`[a-z][a-zA-Z0-9-_]+`, at most 64 characters). */
export const isValidMetadataKey = (key: string): boolean => key.length <= 64 && /^[a-z][a-zA-Z0-9_-]+$/.test(key);

/** The serialized google.rpc.Status of `s` (the value of the `grpc-status-details-bin` trailer). */
export function encodeStatusDetails(s: StatusDetails): Buffer {
  const details: Any[] = [];
  if (s.errorInfo) details.push(anyPack(ErrorInfoSchema, create(ErrorInfoSchema, s.errorInfo)));
  if (s.badRequest && s.badRequest.fieldViolations.length > 0) {
    const fieldViolations = s.badRequest.fieldViolations.map((v) => create(BadRequest_FieldViolationSchema, { field: v.field, description: v.description }));
    details.push(anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations })));
  }
  if (s.retryInfo) {
    const ms = Math.max(0, Math.round(s.retryInfo.retryDelayMs));
    const retryDelay = create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
    details.push(anyPack(RetryInfoSchema, create(RetryInfoSchema, { retryDelay })));
  }
  return Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code: s.code, message: s.message, details })));
}

/**
 * The google.rpc.Status in `bytes`, with the ErrorInfo, BadRequest and RetryInfo it carries (other
 * detail types are skipped). Undefined when the bytes are no Status.
 */
export function decodeStatusDetails(bytes: Uint8Array): StatusDetails | undefined {
  let st;
  try {
    st = fromBinary(StatusSchema, bytes);
  } catch {
    return undefined;
  }
  const out: StatusDetails = { code: st.code, message: st.message };
  for (const any of st.details) {
    try {
      if (anyIs(any, ErrorInfoSchema)) {
        const m = anyUnpack(any, ErrorInfoSchema);
        if (m) out.errorInfo ??= { reason: m.reason, domain: m.domain, metadata: { ...m.metadata } };
      } else if (anyIs(any, BadRequestSchema)) {
        const m = anyUnpack(any, BadRequestSchema);
        if (m) (out.badRequest ??= { fieldViolations: [] }).fieldViolations.push(...m.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
      } else if (anyIs(any, RetryInfoSchema)) {
        const d = anyUnpack(any, RetryInfoSchema)?.retryDelay;
        if (d) out.retryInfo ??= { retryDelayMs: Number(d.seconds) * 1000 + Math.round(d.nanos / 1_000_000) };
      }
    } catch {
      // A malformed detail is skipped; the others and the code and message still count.
    }
  }
  return out;
}

/** The google.rpc.Status of a failed call's trailers (`ServiceError.metadata`), if the server sent one. */
export function readStatusDetails(metadata: Metadata | undefined): StatusDetails | undefined {
  const [raw] = metadata?.get(STATUS_DETAILS_KEY) ?? [];
  if (raw === undefined) return undefined;
  return decodeStatusDetails(Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'base64'));
}

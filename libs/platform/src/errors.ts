/**
 * Refit's error model: one base class with a `cause`, semantic subclasses that say what kind of
 * problem it is, and one place (grpc/status.ts) that maps them to gRPC status codes. Never match
 * on message text; use the `is…` predicates or `instanceof`.
 */

/** The kinds of failure a caller can act on. */
export type ErrorKind =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'failed_precondition'
  | 'unauthenticated'
  | 'permission_denied'
  | 'unavailable'
  | 'internal';

/** One bad field of a request: its path in the request (`rows[3].age`, `postgres.table`) and what is wrong. */
export type FieldViolation = { field: string; description: string };

/** What every Refit error may carry besides its message. */
export type RefitErrorOptions = {
  cause?: unknown;
  /** Structured details (field path, line, column…) safe to show to the caller. */
  details?: Record<string, unknown>;
  /**
   * A more specific reason than the kind's, in UPPER_SNAKE_CASE (`MISSING_FEATURE`): sent as the
   * `reason` of the standard google.rpc.ErrorInfo (default: the kind's, e.g. `INVALID_INPUT`).
   */
  reason?: string;
};

/** Base class of every error Refit raises on purpose. */
export class RefitError extends Error {
  /** What kind of failure this is; drives the gRPC status code and whether a retry can help. */
  readonly kind: ErrorKind;
  /** Optional structured details (field path, line, column…) safe to show to the caller. */
  readonly details?: Record<string, unknown>;
  /** The specific UPPER_SNAKE reason, when the error carries one (see {@link RefitErrorOptions.reason}). */
  readonly reason?: string;

  constructor(kind: ErrorKind, message: string, options?: RefitErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.details = options?.details;
    if (options?.reason !== undefined) this.reason = options.reason;
  }

  /** True when retrying the same request cannot succeed (bad input, missing thing, precondition). */
  get permanent(): boolean {
    return this.kind !== 'unavailable' && this.kind !== 'internal';
  }
}

/** Options of an {@link InvalidInputError}: which field(s) of the request are wrong. */
export type InvalidInputOptions = RefitErrorOptions & {
  /** The path of the bad field in the request (`rows[3].age`); its violation's description is the message. */
  field?: string;
  /** Every bad field with its own description (takes precedence over `field`). */
  violations?: readonly FieldViolation[];
};

/**
 * The request or the data is malformed: the message says what and where. The bad fields, when
 * known, are its `violations` (sent as google.rpc.BadRequest field violations): the `violations`
 * option, else `field`, else a string `details.field`, each described by the message.
 */
export class InvalidInputError extends RefitError {
  // Private, so that a logged error does not repeat its message in each violation's description.
  readonly #violations: readonly FieldViolation[];

  constructor(message: string, options?: InvalidInputOptions) {
    super('invalid_input', message, options);
    const field = options?.field ?? (typeof options?.details?.field === 'string' ? options.details.field : undefined);
    this.#violations = options?.violations ?? (field ? [{ field, description: message }] : []);
  }

  /** The bad fields of the request (empty when the error names none). */
  get violations(): readonly FieldViolation[] {
    return this.#violations;
  }

  /** The path of the (first) bad field, when known. */
  get field(): string | undefined {
    return this.violations[0]?.field;
  }
}

/** A named pipeline, run, model or artifact does not exist. */
export class NotFoundError extends RefitError {
  constructor(message: string, options?: RefitErrorOptions) {
    super('not_found', message, options);
  }
}

/** The thing already exists, or a concurrent change won (optimistic concurrency). */
export class ConflictError extends RefitError {
  constructor(message: string, options?: RefitErrorOptions) {
    super('conflict', message, options);
  }
}

/** The system is not in a state where this can be done (e.g. no champion to compare with). */
export class FailedPreconditionError extends RefitError {
  constructor(message: string, options?: RefitErrorOptions) {
    super('failed_precondition', message, options);
  }
}

/** A dependency (database, broker, object store, another service) cannot be reached; retry later. */
export class UnavailableError extends RefitError {
  /** How long the caller should wait before retrying, when the error knows (sent as google.rpc.RetryInfo). */
  readonly retryAfterMs?: number;

  constructor(message: string, options?: RefitErrorOptions & { retryAfterMs?: number }) {
    super('unavailable', message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** The caller did not prove who it is (no or a bad credential): the message says what is needed. */
export class UnauthenticatedError extends RefitError {
  constructor(message: string, options?: RefitErrorOptions) {
    super('unauthenticated', message, options);
  }
}

/** The caller is known but its roles do not allow this: the message names the role needed. */
export class PermissionDeniedError extends RefitError {
  constructor(message: string, options?: RefitErrorOptions) {
    super('permission_denied', message, options);
  }
}

/** True for any error Refit raised on purpose. */
export const isRefitError = (e: unknown): e is RefitError => e instanceof RefitError;
/** True for an {@link InvalidInputError}. */
export const isInvalidInput = (e: unknown): e is InvalidInputError => isRefitError(e) && e.kind === 'invalid_input';
/** True for a {@link NotFoundError}. */
export const isNotFound = (e: unknown): e is NotFoundError => isRefitError(e) && e.kind === 'not_found';
/** True for a {@link ConflictError}. */
export const isConflict = (e: unknown): e is ConflictError => isRefitError(e) && e.kind === 'conflict';
/** True for a {@link FailedPreconditionError}. */
export const isFailedPrecondition = (e: unknown): e is FailedPreconditionError =>
  isRefitError(e) && e.kind === 'failed_precondition';
/** True for an {@link UnauthenticatedError}. */
export const isUnauthenticated = (e: unknown): e is UnauthenticatedError => isRefitError(e) && e.kind === 'unauthenticated';
/** True for a {@link PermissionDeniedError}. */
export const isPermissionDenied = (e: unknown): e is PermissionDeniedError => isRefitError(e) && e.kind === 'permission_denied';
const KINDS: ReadonlySet<string> = new Set<ErrorKind>(['invalid_input', 'not_found', 'conflict', 'failed_precondition', 'unauthenticated', 'permission_denied', 'unavailable', 'internal']);

/**
 * The error as a RefitError: itself, or — for an error of a pure library that carries a `kind`
 * (ModelingInputError, MlInputError: `kind: 'invalid_input'`) — a RefitError of that kind with
 * the same message, details and the original as `cause`. Undefined for any other error.
 */
export function asRefitError(e: unknown): RefitError | undefined {
  if (isRefitError(e)) return e;
  const kind = e instanceof Error ? (e as Error & { kind?: unknown }).kind : undefined;
  if (e instanceof Error && typeof kind === 'string' && KINDS.has(kind)) {
    const details = (e as Error & { details?: unknown }).details;
    const options = { cause: e, details: details && typeof details === 'object' ? (details as Record<string, unknown>) : undefined };
    return kind === 'invalid_input' ? new InvalidInputError(e.message, options) : new RefitError(kind as ErrorKind, e.message, options);
  }
  return undefined;
}

/** True when an error will not go away by retrying (so a consumer should dead-letter at once). */
export const isPermanent = (e: unknown): boolean => asRefitError(e)?.permanent ?? false;

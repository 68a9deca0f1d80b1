/**
 * Where in the input a {@link ModelingInputError} was found. All fields are optional because
 * some problems (a bad artifact, a bad spec) have no row or column.
 */
export type ModelingInputDetails = {
  /** 0-based index into the rows array the caller passed (or the caller's own line number). */
  row?: number;
  /** The column / feature name involved. */
  column?: string;
  /** The offending value, as found. */
  value?: unknown;
};

/**
 * The data, spec or artifact given to `@refit/modeling` is unusable. The message says what is wrong
 * and where (row, column, value); the same facts are in `details` for structured logging. Maps to
 * `invalid_input` in the platform error model: retrying with the same input cannot succeed.
 */
export class ModelingInputError extends Error {
  /** Always `'invalid_input'`, so callers can map it like the platform's `InvalidInputError`. */
  readonly kind = 'invalid_input' as const;
  /** Structured location of the problem, when there is one. */
  readonly details: ModelingInputDetails;

  constructor(message: string, details: ModelingInputDetails = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelingInputError';
    this.details = details;
  }
}

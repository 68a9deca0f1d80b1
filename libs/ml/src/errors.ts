/**
 * Base class of every input error thrown by `@refit/ml`. Catch this one type to handle
 * all "the caller gave us data we cannot compute on" cases; the subclasses say which kind.
 */
export class MlInputError extends Error {
  override name = 'MlInputError';
  /** Always `'invalid_input'`: the platform maps it like its own InvalidInputError (no retry). */
  readonly kind = 'invalid_input' as const;
}

/**
 * A value is out of its allowed range: NaN or infinite data, a label that is not 0/1,
 * a probability outside [0, 1], an empty sample, mismatched lengths, a bad option.
 */
export class MlRangeError extends MlInputError {
  override name = 'MlRangeError';
}

/** An argument has the wrong type: not array-like, not a number, not a function. */
export class MlTypeError extends MlInputError {
  override name = 'MlTypeError';
}

import { describe, expect, it } from 'vitest';
import { columnarRows } from './predict-input.js';

describe('the columnar Predict fast path', () => {
  it('turns column names and row-major values into rows, NaN into a missing value', () => {
    expect(columnarRows(['temp_max', 'wind'], [10, 3, 12, Number.NaN])).toEqual([
      { temp_max: 10, wind: 3 },
      { temp_max: 12, wind: null },
    ]);
  });
  it('refuses values that do not fill whole rows, naming the columns', () => {
    expect(() => columnarRows(['a', 'b'], [1, 2, 3])).toThrow(/3 values do not fill rows of 2 columns \(a, b\)/);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { streamTrainingRow } from './stream-batch.js';

const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-stream.yaml'), 'utf8'));

describe('a labeled stream row as a training row', () => {
  it('is the row with the label column set from the label', () => {
    const line = JSON.stringify({ id: 'd1', at: '2014-01-02T00:00:00.000Z', labelAt: '2014-01-03T00:00:00.000Z', row: { location: 'New York', date: '2014-01-02', temp_max: 3, temp_min: -2, wind: 5 }, label: 0.8 });
    expect(streamTrainingRow(spec, line)).toEqual({ location: 'New York', date: '2014-01-02', temp_max: 3, temp_min: -2, wind: 5, precipitation: 0.8 });
  });

  it("takes the row's time for the timestamp column when the row has none", () => {
    const line = JSON.stringify({ id: 'd1', at: '2014-01-02T00:00:00.000Z', row: { temp_max: 3 }, label: 0 });
    expect(streamTrainingRow(spec, line)).toMatchObject({ date: '2014-01-02T00:00:00.000Z', precipitation: 0 });
  });

  it('is nothing for a line that is not a labeled row', () => {
    expect(streamTrainingRow(spec, 'not json')).toBeUndefined();
    expect(streamTrainingRow(spec, JSON.stringify({ id: 'x', row: [1, 2], label: 1 }))).toBeUndefined();
    expect(streamTrainingRow(spec, 'null')).toBeUndefined();
  });
});

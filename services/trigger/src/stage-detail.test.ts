import { describe, expect, it } from 'vitest';
import { trainedDetail } from './events.js';

describe("the trainer stage's line", () => {
  it('names Newton passes or Adam epochs from the lineage config, and survives a config that is not JSON', () => {
    expect(trainedDetail(6, 'wasm', JSON.stringify({ kind: 'logistic', solver: 'newton' }))).toBe('Newton, 6 passes, on wasm');
    expect(trainedDetail(60, 'wasm', JSON.stringify({ kind: 'mlp', solver: 'adam' }))).toBe('60 epochs on wasm');
    expect(trainedDetail(60, 'cpu', JSON.stringify({ kind: 'logistic' }))).toBe('60 epochs on cpu');
    expect(trainedDetail(3, 'wasm', '{not json')).toBe('3 epochs on wasm');
  });
});

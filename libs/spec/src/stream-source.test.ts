import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const rain = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
const withSource = (source: string): string => rain.replace('  window: { lastBatches: 1 }', `  window: { lastBatches: 1 }\n  source: ${source}`);

describe('data.source.stream', () => {
  it('is absent unless declared: existing specs are unchanged', () => {
    expect(parseSpec(rain).data.source).toBeUndefined();
  });

  it('defaults the label subject, the segment bounds and the label wait', () => {
    expect(parseSpec(withSource('{ stream: { subject: weather.rows } }')).data.source?.stream).toEqual({
      subject: 'weather.rows',
      labels: 'weather.rows.labels',
      segment: { maxRows: 10_000, maxSeconds: 1 },
      labelWaitHours: 720,
    });
  });

  it('takes other values, and survives a JSON round trip', () => {
    const spec = parseSpec(withSource('{ stream: { subject: w.rows, labels: w.outcomes, idColumn: date, segment: { maxRows: 500, maxSeconds: 0.5 }, labelWaitHours: 24 } }'));
    expect(spec.data.source?.stream).toEqual({ subject: 'w.rows', labels: 'w.outcomes', idColumn: 'date', segment: { maxRows: 500, maxSeconds: 0.5 }, labelWaitHours: 24 });
    expect(parseSpec(JSON.stringify(spec)).data.source).toEqual(spec.data.source);
  });

  it('refuses wildcards, Refit subjects, long subjects, unknown fields and out-of-range limits, naming the field', () => {
    expect(specProblems(withSource('{ stream: { subject: "w.*" } }'))).toEqual([expect.stringMatching(/^data\.source\.stream\.subject: .*without wildcards/)]);
    expect(specProblems(withSource('{ stream: { subject: "w.>" } }'))).toEqual([expect.stringMatching(/^data\.source\.stream\.subject: /)]);
    expect(specProblems(withSource('{ stream: { subject: "w..x" } }'))).toEqual([expect.stringMatching(/^data\.source\.stream\.subject: /)]);
    expect(specProblems(withSource('{ stream: { subject: "w.\\u0001x" } }'))).toEqual([expect.stringMatching(/^data\.source\.stream\.subject: .*control character/)]);
    expect(specProblems(withSource('{ stream: { subject: "refit.rows" } }'))).toEqual([expect.stringMatching(/^data\.source\.stream\.subject: .*refit\./)]);
    expect(specProblems(withSource(`{ stream: { subject: "${'a'.repeat(257)}" } }`))).toEqual([expect.stringMatching(/^data\.source\.stream\.subject: .*256/)]);
    expect(specProblems(withSource(`{ stream: { subject: "${'a'.repeat(250)}" } }`))).toEqual([expect.stringMatching(/^data\.source\.stream\.labels: .*256/)]);
    expect(specProblems(withSource('{ stream: { subject: w, labels: w } }'))).toEqual([expect.stringMatching(/^data\.source\.stream\.labels: .*another subject/)]);
    expect(specProblems(withSource('{ stream: { subject: w, topic: x } }'))).toEqual([expect.stringMatching(/^data\.source\.stream: .*topic/)]);
    expect(specProblems(withSource('{ stream: { subject: w, segment: { maxRows: 0, maxSeconds: 7200 }, labelWaitHours: 0 } }'))).toEqual([
      expect.stringMatching(/^data\.source\.stream\.segment\.maxRows: /),
      expect.stringMatching(/^data\.source\.stream\.segment\.maxSeconds: /),
      expect.stringMatching(/^data\.source\.stream\.labelWaitHours: /),
    ]);
    expect(specProblems(withSource('{ kafka: { topic: x } }'))).toEqual([expect.stringMatching(/^data\.source: .*kafka/)]);
  });
});

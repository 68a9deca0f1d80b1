import { datasetDrift, type DriftColumn } from '@refit/ml';
import { describe, expect, it } from 'vitest';
import { driftReportMessage, storedColumns, type StoredColumn } from './drift-report.js';

const ref = { bucket: 'b', key: 'pipelines/p/drift/x.json', sha256: 'ab', size: 10 };
const rep = <T>(v: T, n: number): T[] => new Array<T>(n).fill(v);

describe('drift report columns', () => {
  const columns: DriftColumn[] = [
    { name: 'weather', type: 'categorical', reference: [...rep('rain', 60), ...rep('sun', 40)], current: [...rep('rain', 20), ...rep('sun', 50), ...rep('fog', 30)] },
    { name: 'wind', type: 'numeric', reference: Array.from({ length: 100 }, (_, i) => i), current: Array.from({ length: 100 }, (_, i) => i + 30) },
    { name: 'empty', type: 'numeric', reference: [1, 2, 3], current: [] },
  ];

  it('fills the histogram of categorical and numeric columns, PSI for numeric ones only in training', () => {
    const stored = storedColumns(datasetDrift(columns), columns, 'numeric');
    const m = driftReportMessage({ source: 'training', pipeline: 'p', runId: 'r-2', referenceRunId: 'r-1', status: 'drift', share: 1 }, stored, ref);
    const [weather, wind, empty] = m.columns;
    expect(weather.histogram).toMatchObject({ edges: [], categories: ['rain', 'sun', 'fog'], reference: [0.6, 0.4, 0], current: [0.2, 0.5, 0.3] });
    expect(weather.psi).toBeUndefined();
    expect(wind.histogram?.categories).toEqual([]);
    expect(wind.histogram?.edges).toHaveLength(9);
    expect(wind.histogram?.reference).toHaveLength(10);
    expect(wind.psi).toBeGreaterThan(0.25);
    // No current rows: nothing to draw, and not-enough-data.
    expect([empty.status, empty.histogram, empty.psi]).toEqual(['not-enough-data', undefined, undefined]);
    expect(Number.isNaN(empty.statistic)).toBe(true);
    expect(m.report).toMatchObject({ bucket: 'b', key: ref.key, sha256: 'ab', sizeBytes: 10n });
  });

  it('live: PSI is the test statistic; a report stored before histograms reads back without them', () => {
    const stored = storedColumns(datasetDrift(columns.slice(0, 2), { test: 'psi' }), columns.slice(0, 2), 'statistic');
    expect(stored.map((c) => c.psi)).toEqual(stored.map((c) => c.statistic));
    const legacy: StoredColumn[] = stored.map(({ psi: _p, histogram: _h, ...c }) => c);
    const header = { source: 'live' as const, pipeline: 'p', runId: '', referenceRunId: 'r-1', status: 'drift', share: 1, version: 'v1', windowEnd: new Date(Date.UTC(2026, 0, 1)) };
    const m = driftReportMessage(header, legacy, ref);
    expect(m.columns.map((c) => c.psi)).toEqual(stored.map((c) => c.statistic));
    expect(m.columns.every((c) => c.histogram === undefined)).toBe(true);
    expect(m).toMatchObject({ source: 'live', version: 'v1', windowEnd: { seconds: BigInt(Date.UTC(2026, 0, 1) / 1000) } });
  });
});

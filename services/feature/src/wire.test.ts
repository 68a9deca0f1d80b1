import type * as pb from '@refit/contracts';
import { fittedTransformFromJson, snapshotStatsFromJson } from '@refit/contracts';
import { parseTransform, serializeTransform, type FittedFeature, type FittedTransform } from '@refit/modeling';
import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { expectSame } from './wire.fixtures.js';
import { computeStats, type CategoricalStats, type NumericStats, type SnapshotStats } from './stats.js';

// Every field of the TypeScript types has a field of the same name in the message: a field added
// there and not in the proto fails to compile (the values are checked by the tests below).
type Keys<T> = T extends unknown ? keyof T : never;
type Missing<T, M> = Exclude<Keys<T>, keyof M>;
const exhaustive: [Missing<SnapshotStats, pb.SnapshotStats>, Missing<NumericStats | CategoricalStats, pb.ColumnStats>, Missing<FittedTransform, pb.FittedTransform>, Missing<FittedFeature, pb.FittedFeature>] = [] as unknown as [never, never, never, never];
void exhaustive;

// The document as clients of the previous release read it: what the service stores and serves.
const asStored = (doc: unknown): unknown => JSON.parse(JSON.stringify(doc));

const spec = parseSpec(`apiVersion: refit/v1
kind: Pipeline
name: s
schema:
  columns:
    - { name: wind, type: number, nullable: true }
    - { name: gust, type: number, nullable: true }
    - { name: city, type: category, nullable: true }
    - { name: day, type: date }
    - { name: rain, type: integer }
label: { column: rain }
features:
  - { name: wind, type: number }
  - { name: city, type: category }
`);
// gust is never present: its quantiles are undefined (NaN, null once stored).
const rows = Array.from({ length: 60 }, (_, i) => ({ wind: i % 7 === 0 ? null : (i * 37) % 23, gust: null, city: i % 5 === 0 ? '' : ['a', 'b', 'c'][i % 3], day: '2020-01-01', rain: i % 2 }));

const features: FittedFeature[] = [
  { name: 'temp', kind: 'standardize', mean: 12.5, std: 3.25, fill: 10, clip: { min: -40, max: 50 }, indicator: true, imputed: true },
  { name: 'wind', kind: 'minmax', min: 0, max: 22, clip: { max: 30 } },
  { name: 'rain_mm', kind: 'log1p', fill: 0, imputed: true },
  { name: 'pressure', kind: 'bucketize', boundaries: [990, 1010.5, 1030] },
  { name: 'city', kind: 'onehot', categories: ['a', 'b', 'c'], other: true, fill: 'a', indicator: true, imputed: true },
  { name: 'station', kind: 'onehot', categories: ['x'], other: true },
  { name: 'humidity', kind: 'none', fill: 61.5, clip: { min: 0 } },
  { name: 'device', kind: 'hash', buckets: 8, indicator: true },
  { name: 'at', kind: 'dateparts', parts: ['hour', 'dayOfWeek', 'month'], imputed: true },
];
const outputNames = [
  ...['temp', 'temp:missing', 'wind', 'rain_mm', 'pressure<990', 'pressure[990,1010.5)', 'pressure[1010.5,1030)', 'pressure>=1030'],
  ...['city=a', 'city=b', 'city=c', 'city=__other__', 'city:missing', 'station=x', 'station=__other__', 'humidity'],
  ...Array.from({ length: 8 }, (_, k) => `device#${k}`),
  ...['device:missing', 'at.hour', 'at.dayOfWeek', 'at.month'],
];
// A real artifact (the modeling library's own schema accepts it, output names included).
const transform = parseTransform(serializeTransform({ version: 2, features, outputNames, fittedOnRows: 1234 }));

describe('the typed feature statistics on the wire', () => {
  const stats = computeStats(spec, rows, { runId: 'r-1', snapshotSha256: 'abc' });
  const stored = asStored(stats);
  const typed = snapshotStatsFromJson(stored);

  it('has every field of the stats document, with the same value, and nothing else', () => {
    expect(stats.columns.map((c) => c.kind)).toEqual(['numeric', 'numeric', 'categorical', 'numeric']);
    expect(expectSame(stored, typed)).toBeGreaterThan(150);
  });

  it('reads the typed numbers as the service computed them', () => {
    const wind = stats.columns[0] as NumericStats;
    const [w, gust, city] = typed.columns;
    expect(typed).toMatchObject({ version: 1, pipeline: 's', runId: 'r-1', snapshotSha256: 'abc', rows: 60n });
    expect(w).toMatchObject({ name: 'wind', kind: 'numeric', count: 60n, missing: BigInt(wind.missing), missingRate: wind.missingRate, mean: wind.mean, std: wind.std, min: wind.min, max: wind.max });
    expect(w.quantiles).toEqual(wind.quantiles);
    expect(w.histogram?.edges).toEqual(wind.histogram.edges);
    expect(w.histogram?.counts).toEqual(wind.histogram.counts.map(BigInt));
    expect(w.sample).toEqual(wind.sample);
    expect(w.frequencies).toEqual({});
    expect(Object.values(gust.quantiles).every(Number.isNaN)).toBe(true);
    expect(gust).toMatchObject({ missing: 60n, missingRate: 1 });
    expect([city.mean, city.std, city.min, city.max, city.histogram]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(city.frequencies).toEqual(Object.fromEntries(Object.entries((stats.columns[2] as CategoricalStats).frequencies).map(([k, n]) => [k, BigInt(n)])));
  });

  it('is the same from the object before it is stored', () => {
    expect(snapshotStatsFromJson(stats)).toEqual(typed);
  });
});

describe('the typed fitted transform on the wire', () => {
  const stored = asStored(transform);
  const typed = fittedTransformFromJson(stored);

  it('has every field of every kind of feature, with the same value, and nothing else', () => {
    expect(new Set(transform.features.map((f) => f.kind)).size).toBe(8);
    expect(expectSame(stored, typed)).toBeGreaterThan(60);
  });

  it('reads each kind’s parameters, the one-hot fill category apart from the numeric fill', () => {
    expect(typed).toMatchObject({ version: 2, fittedOnRows: 1234n, outputNames: transform.outputNames });
    const [temp, wind, , pressure, city, station, humidity, device, at] = typed.features;
    expect(temp).toMatchObject({ kind: 'standardize', mean: 12.5, std: 3.25, fill: 10, clip: { min: -40, max: 50 }, indicator: true, imputed: true });
    expect(wind.clip?.min).toBeUndefined();
    expect(wind).toMatchObject({ min: 0, max: 22, clip: { max: 30 } });
    expect(pressure.boundaries).toEqual([990, 1010.5, 1030]);
    expect(city).toMatchObject({ categories: ['a', 'b', 'c'], other: true, fillCategory: 'a', indicator: true });
    expect(city.fill).toBeUndefined();
    expect([station.fillCategory, station.indicator, station.imputed]).toEqual([undefined, undefined, undefined]);
    expect(humidity).toMatchObject({ kind: 'none', fill: 61.5, clip: { min: 0 } });
    expect(device.buckets).toBe(8);
    expect(at.parts).toEqual(['hour', 'dayOfWeek', 'month']);
  });

  it('reads a version-1 artifact and the object before it is stored alike', () => {
    const v1 = { version: 1 as const, features: [{ name: 'temp', kind: 'standardize' as const, mean: 1, std: 2 }], outputNames: ['temp'], fittedOnRows: 3 };
    expect(expectSame(asStored(v1), fittedTransformFromJson(asStored(v1)))).toBe(7);
    expect(fittedTransformFromJson(transform)).toEqual(typed);
  });
});

import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const valid = `
apiVersion: refit/v1
kind: Pipeline
name: seattle-rain
schema:
  columns:
    - { name: date, type: date }
    - { name: precipitation, type: number, min: 0 }
    - { name: temp_max, type: number }
    - { name: temp_min, type: number }
    - { name: wind, type: number }
    - { name: weather, type: category }
label: { column: precipitation, positive: { gt: 0 } }
features:
  - { name: temp_max, type: number }
  - { name: wind, type: number }
`;


describe('parseSpec', () => {
  it('fills defaults', () => {
    const spec = parseSpec(valid);
    expect(spec.model).toMatchObject({ kind: 'logistic', epochs: 50, seed: 42 });
    expect(spec.data.split).toEqual({ train: 0.7, validation: 0.15, test: 0.15, seed: 7 });
    expect(spec.gates.champion).toEqual({ metric: 'auc', margin: 0 });
    expect(spec.triggers).toEqual([{ kind: 'manual' }]);
  });

  it('names the bad field of a wrong enum value', () => {
    const bad = valid.slice(0, valid.lastIndexOf('{ name: wind')) + '{ name: wind, type: text }\n';
    expect(specProblems(bad)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^features\[1\]\.type: /)]),
    );
  });

  it('names an unknown feature column and a label used as feature', () => {
    const p = specProblems(valid.replace('{ name: temp_max, type: number }\n  -', '{ name: nope, type: number }\n  - { name: precipitation, type: number }\n  -'));
    expect(p).toContain("features[0].name: 'nope' is not a column of schema.columns");
    expect(p).toContain("features[1].name: 'precipitation' is the label column; a feature must not leak the label");
  });

  it('rejects unknown keys and bad splits', () => {
    const p = specProblems(`${valid}data: { split: { train: 0.9, validation: 0.2, test: 0.1 } }\nmodle: {}\n`);
    expect(p.some((x) => x.startsWith('data.split: train + validation + test must add up to 1'))).toBe(true);
    expect(p.some((x) => x.includes('modle'))).toBe(true);
  });

  it('reports YAML syntax errors with a position', () => {
    expect(specProblems('name: [unclosed')[0]).toMatch(/^\(yaml\) line \d+, column \d+/);
  });

  it('refuses a YAML tag it does not know (the yaml package would only warn, on stderr)', () => {
    expect(specProblems(valid.replace('name: seattle-rain', 'name: !!js/function seattle-rain'))).toEqual([
      '(yaml) line 4, column 7: Unresolved tag: tag:yaml.org,2002:js/function',
    ]);
  });

  it('rejects a bad pipeline name', () => {
    expect(specProblems(valid.replace('name: seattle-rain', 'name: Seattle Rain'))[0]).toMatch(/^name: must be lower-case/);
  });
});

describe('data collection and feature sections', () => {
  it('accepts the new transforms, batch checks, windows and time splits', () => {
    const spec = parseSpec(
      valid.replace('    - { name: weather, type: category }', '    - { name: weather, type: category, onUnseen: flag }\n  timestamp: date\n  batch: { onProblem: flag }') +
        '  - { name: weather, type: category, transform: hash, buckets: 8 }\n  - { name: date, type: date, parts: [month] }\n  - { name: temp_min, type: number, transform: bucketize, boundaries: [0, 10], impute: { strategy: median }, missingIndicator: true }\ndata: { window: { time: { lastDays: 365 } }, split: { by: time } }\n',
    );
    expect(spec.schema.batch).toEqual({
      onProblem: 'flag',
      maxNullRateIncrease: 0.1,
      maxMedianShiftIqr: 3,
      onMedianShift: 'flag',
      pin: 'first',
      maxOutOfRangeShare: 0.05,
      duplicateBatch: 'flag',
      maxQuarantinedShare: 0.5,
      maxLabelShift: 0.5,
      maxLabelShiftIqr: 2,
      onLabelShift: 'flag',
      labelInversionAuc: 0.4,
      onLabelInversion: 'reject',
    });
    expect(spec.data.split.by).toBe('time');
    expect(spec.features.map((f) => f.transform ?? f.type)).toEqual(['number', 'number', 'hash', 'date', 'bucketize']);
  });

  it('names a transform the type cannot take, a missing timestamp and a non-date timestamp', () => {
    expect(specProblems(`${valid}  - { name: weather, type: category, transform: minmax }\n`)).toContain('features[2].transform: a category feature can use onehot, hash, not minmax');
    expect(specProblems(`${valid}data: { split: { by: time } }\n`)).toContain('data.split.by: needs schema.timestamp (the date column that orders the rows)');
    expect(specProblems(valid.replace('    - { name: weather, type: category }', '    - { name: weather, type: category }\n  timestamp: wind'))).toContain(
      "schema.timestamp: 'wind' is declared number; the timestamp column must be a date",
    );
  });
});

describe('trigger policies', () => {
  it('accepts every kind with defaults', () => {
    const spec = parseSpec(`${valid}triggers:
  - { kind: manual }
  - { kind: schedule, cron: "0 3 * * *", timezone: Europe/Paris }
  - { kind: volume, minRows: 1000 }
  - { kind: age, maxAgeHours: 168 }
  - { kind: external, sources: [warehouse] }
hygiene: { cooldownMinutes: 30 }
`);
    expect(spec.triggers[1]).toEqual({ kind: 'schedule', cron: '0 3 * * *', timezone: 'Europe/Paris', catchUp: 'latest' });
    expect(spec.hygiene).toEqual({ debounce: 1, cooldownMinutes: 30, maxRunsPerDay: 24, whenBusy: 'coalesce', duringRollout: 'queue' });
  });

  it('names a bad cron, an unknown time zone and an empty volume policy', () => {
    const p = specProblems(`${valid}triggers:
  - { kind: schedule, cron: "61 * * * *" }
  - { kind: schedule, cron: "0 3 * * *", timezone: Mars/Olympus }
  - { kind: volume }
`);
    expect(p.some((x) => x.startsWith('triggers[0].cron: not a valid cron expression'))).toBe(true);
    expect(p).toContain("triggers[1].timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Paris or UTC)");
    expect(p).toContain('triggers[2]: needs minRows or minShare');
  });

  it('takes a drift policy with a share and per-feature PSI limits, and names what is missing', () => {
    const spec = parseSpec(`${valid}triggers:
  - { kind: drift, maxShare: 0.5, features: { wind: { psi: 0.5 } } }
`);
    expect(spec.triggers[0]).toEqual({ kind: 'drift', maxShare: 0.5, features: { wind: { psi: 0.5 } }, minSamples: 200 });
    const p = specProblems(`${valid}triggers:
  - { kind: drift, minSamples: 50 }
  - { kind: drift, maxShare: 1.5 }
  - { kind: drift, features: { wind: { psi: 0.2, ks: 1 } } }
`);
    expect(p).toContain('triggers[0].maxShare: needs maxShare or a psi limit under features');
    expect(p.some((x) => x.startsWith('triggers[1].maxShare:'))).toBe(true);
    expect(p.some((x) => x.startsWith('triggers[2].features.wind'))).toBe(true);
  });
});

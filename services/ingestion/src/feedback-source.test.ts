import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { feedbackRow } from './feedback-source.js';
import { preferPushedRows } from './snapshot.js';

const spec = (extra = '') =>
  parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: f
schema:
  columns:
    - { name: day, type: date }
    - { name: station, type: string }
    - { name: precipitation, type: number, min: 0 }
    - { name: wind, type: number }
  timestamp: day
  entity: station
label: { column: precipitation, positive: { gt: 0 } }
features: [{ name: wind, type: number }]
data: { include: [feedback] }
${extra}`);
const at = timestampFromDate(new Date('2014-03-02T10:00:00Z'));

describe('labeled predictions as training rows', () => {
  it('takes the label column from the raw value sent with the feedback, and the time of the prediction', () => {
    expect(feedbackRow(spec(), { rowJson: '{"wind":3.2,"station":"s1"}', label: 1, labelValue: '2.3', predictedAt: at })).toEqual({
      row: { wind: 3.2, station: 's1', precipitation: 2.3, day: '2014-03-02T10:00:00.000Z' },
    });
    // A row that carries its own timestamp keeps it.
    expect(feedbackRow(spec(), { rowJson: '{"wind":1,"day":"2014-03-01"}', label: 0, labelValue: '0', predictedAt: at })).toMatchObject({ row: { day: '2014-03-01', precipitation: 0 } });
  });

  it('cannot make a row without the raw value when the label is derived by a rule, and says why', () => {
    expect(feedbackRow(spec(), { rowJson: '{"wind":1}', label: 1, labelValue: '' })).toEqual({ skip: "feedback without label_value (the label 'precipitation' is derived by a rule, so its raw value is needed)" });
    expect(feedbackRow(spec(), { rowJson: 'not json', label: 1, labelValue: '1' })).toEqual({ skip: 'the logged row is not JSON' });
  });

  it('uses the 0/1 label itself when the label column is already 0/1', () => {
    const plain = parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: g
schema: { columns: [{ name: rained, type: integer }, { name: wind, type: number }] }
label: { column: rained }
features: [{ name: wind, type: number }]
`);
    expect(feedbackRow(plain, { rowJson: '{"wind":1}', label: 1, labelValue: '' })).toEqual({ row: { wind: 1, rained: 1 } });
  });

  it('drops a feedback row whose entity also has a pushed row: what a team sends wins', () => {
    const texts = new Map([
      ['b-push', '{"station":"s1","wind":1}\n{"station":"s2","wind":2}\n'],
      ['b-fb', '{"station":"s1","wind":9}\n{"station":"s3","wind":3}\n'],
    ]);
    const batches = [
      { batch_id: 'b-push', source: 'push' },
      { batch_id: 'b-fb', source: 'feedback' },
    ];
    expect(preferPushedRows(batches, texts, 'station')).toEqual(['{"station":"s1","wind":1}\n{"station":"s2","wind":2}\n', '{"station":"s3","wind":3}']);
    // Without an entity nothing can be matched: every row stays.
    expect(preferPushedRows(batches, texts, undefined)).toEqual([texts.get('b-push'), texts.get('b-fb')]);
  });
});

import { describe, expect, it } from 'vitest';
import { SegmentBuffer } from './stream-buffer.js';
import { joinSegment } from './stream-join.js';

const T = '2024-01-01T00:00:00.000Z';
const row = (id: string, seq: number) => ({ id, at: T, json: `{"x":${seq}}`, seq, seenAt: T });
const label = (id: string, seq: number, value: number) => ({ id, label: value, at: '2024-01-02T00:00:00.000Z', seq, raw: `{"id":"${id}"}`, seenAt: T });

describe('joinSegment', () => {
  it('joins labels to rows of the segment and to rows awaiting labels, once each; the rest wait', () => {
    const b = new SegmentBuffer();
    b.addLabel(label('c', 1, 1)); // overtakes its row
    b.addRow(row('a', 2), () => '');
    b.addRow(row('c', 3), () => '');
    b.addRow(row('a', 4), () => 'dup');
    b.addLabel(label('a', 5, 0));
    b.addLabel(label('a', 6, 1));
    b.addLabel(label('old', 7, 1));
    b.addLabel(label('ghost', 8, 1));
    b.addLabel(label('ghost', 9, 0));
    b.addRow(row('w', 10), () => '');
    const j = joinSegment(b, new Map([['old', { row: '{"x":0}', at: T }]]), new Map([['w', { id: 'w', label: 1, labelAt: T, sequence: 0, raw: '' }]]));
    expect(j.rowsAccepted).toBe(3);
    expect(j.rowLines).toEqual([`{"id":"a","at":"${T}","row":{"x":2}}`, `{"id":"c","at":"${T}","row":{"x":3}}`, `{"id":"w","at":"${T}","row":{"x":10}}`]);
    expect(j.labeledLines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['w', 'c', 'a', 'old']);
    expect(JSON.parse(j.labeledLines[3])).toEqual({ id: 'old', at: T, labelAt: '2024-01-02T00:00:00.000Z', row: { x: 0 }, label: 1 });
    expect(j.joinedPending).toEqual(['old']);
    expect(j.joinedOrphans).toEqual(['w']);
    expect(j.pending).toEqual([]);
    expect(j.orphans.map((o) => o.id)).toEqual(['ghost']);
    expect(j.rowsQuarantined.map((q) => q.message)).toEqual([expect.stringMatching(/id 'a' already names the row at stream sequence 2/)]);
    expect(j.labelsQuarantined.map((q) => q.message)).toEqual([expect.stringMatching(/'a' was labeled already/), expect.stringMatching(/a label for id 'ghost' is already waiting/)]);
  });

  it('quarantines a row whose id still awaits its label, and keeps unlabeled rows pending', () => {
    const b = new SegmentBuffer();
    b.addRow(row('p', 1), () => '');
    b.addRow(row('q', 2), () => '');
    const j = joinSegment(b, new Map([['p', { row: '{}', at: T }]]), new Map());
    expect(j.rowsAccepted).toBe(1);
    expect(j.pending.map((p) => p.id)).toEqual(['q']);
    expect(j.rowsQuarantined[0]).toMatchObject({ sequence: 1, value: 'p', message: expect.stringMatching(/awaiting its label/) });
  });
});

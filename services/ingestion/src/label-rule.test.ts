import { labelOf } from '@refit/modeling';
import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { binaryLabel } from './label-rule.js';

const specWith = (label: string, type = 'number') =>
  parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: rule
schema:
  columns:
    - { name: y, type: ${type}, nullable: true }
    - { name: x, type: number }
label: ${label}
features: [{ name: x, type: number }]
`);

describe('the binary label while profiling', () => {
  it("reads every cell as the trainer's labelOf does, and says which cells hold no label", () => {
    const values = [-1, 0, 0.5, 1, 2, 2.5, 3, '1', 'yes', 'sun', true, false];
    for (const [label, type] of [
      ['{ column: y, positive: { gt: 0 } }', 'number'],
      ['{ column: y, positive: { gte: 2.5 } }', 'number'],
      ['{ column: y, positive: { lt: 1 } }', 'number'],
      ['{ column: y, positive: { eq: 1 } }', 'number'],
      ['{ column: y, positive: { in: [sun, 2] } }', 'string'],
      ['{ column: y }', 'boolean'],
    ]) {
      const spec = specWith(label, type);
      const rule = binaryLabel(spec);
      for (const v of values) {
        let expected: 0 | 1 | undefined;
        try {
          expected = labelOf({ y: v }, spec.label);
        } catch {
          expected = undefined;
        }
        expect({ label, v, y: rule?.of(v) }).toEqual({ label, v, y: expected });
      }
      expect(rule?.of(null)).toBeUndefined();
    }
  });

  it('names the rule as a person reads it, and has none for a regression head', () => {
    expect(binaryLabel(specWith('{ column: y, positive: { gt: 0 } }'))?.text).toBe('y > 0');
    expect(binaryLabel(specWith('{ column: y, positive: { in: [sun, 2] } }', 'string'))?.text).toBe('y in [sun, 2]');
    expect(binaryLabel(specWith('{ column: y }', 'boolean'))?.text).toBe('y');
    const regression = specWith('{ column: y }');
    expect(binaryLabel({ ...regression, model: { ...regression.model, head: 'regression' } })).toBeUndefined();
  });
});

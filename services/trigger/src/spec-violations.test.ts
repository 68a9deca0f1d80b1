import { describe, expect, it } from 'vitest';
import { specViolations } from './pipelines.js';

describe('specViolations', () => {
  it('puts each spec problem at its path under spec_yaml, or at spec_yaml when it names no field', () => {
    expect(
      specViolations([
        'features[2].transform: a category feature can use onehot, hash, not minmax',
        'schema.columns[5].name: holds a control character (U+0000): remove it',
        '(yaml): the text could not be read as YAML: bad indentation',
        '(root): expected a YAML mapping with apiVersion, kind, name…',
      ]),
    ).toEqual([
      { field: 'spec_yaml.features[2].transform', description: 'a category feature can use onehot, hash, not minmax' },
      { field: 'spec_yaml.schema.columns[5].name', description: 'holds a control character (U+0000): remove it' },
      { field: 'spec_yaml', description: '(yaml): the text could not be read as YAML: bad indentation' },
      { field: 'spec_yaml', description: '(root): expected a YAML mapping with apiVersion, kind, name…' },
    ]);
  });
});

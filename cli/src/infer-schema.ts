/** Prints `schema.columns` inferred from the first rows of a file (the inference itself is `@refit/spec`'s, shared with the ingestion service). */

import type { InferredColumn } from '@refit/spec';

export { inferColumns, MAX_CATEGORIES, type InferredColumn } from '@refit/spec';

/** Splits one CSV line (quotes with "" escapes; no line breaks inside fields). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** The inferred columns as the YAML of a spec's `schema:` section. */
export function schemaYaml(columns: InferredColumn[]): string {
  const lines = columns.map((c) => {
    const parts = [`name: ${JSON.stringify(c.name)}`, `type: ${c.type}`];
    if (c.nullable) parts.push('nullable: true');
    if (c.min !== undefined) parts.push(`min: ${c.min}`);
    if (c.max !== undefined) parts.push(`max: ${c.max}`);
    if (c.values) {
      parts.push(`values: [${c.values.map((v) => JSON.stringify(v)).join(', ')}]`);
      if (c.onUnseen) parts.push(`onUnseen: ${c.onUnseen}`);
    }
    return `    - { ${parts.join(', ')} }`;
  });
  return `schema:\n  columns:\n${lines.join('\n')}\n`;
}

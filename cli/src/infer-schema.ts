/** Infers `schema.columns` from the first rows of a file (TFX SchemaGen's idea), for a spec to pin. */

/** Distinct values up to which a text column is taken as a category. */
export const MAX_CATEGORIES = 50;

/** One inferred column, as it goes into the spec. */
export type InferredColumn = { name: string; type: 'integer' | 'number' | 'boolean' | 'date' | 'category' | 'string'; nullable?: true; values?: string[]; onUnseen?: 'flag' };

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;
const BOOLEAN = new Set(['true', 'false', 'yes', 'no']);

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

/** Infers each column's type, nullability and (for few distinct values) its categories. */
export function inferColumns(names: string[], rows: Array<Array<string | undefined>>): InferredColumn[] {
  return names.map((name, j) => {
    const values = rows.map((r) => (r[j] ?? '').trim());
    const present = values.filter((v) => v !== '');
    const nullable = present.length < values.length ? { nullable: true as const } : {};
    const all = (re: RegExp) => present.length > 0 && present.every((v) => re.test(v));
    if (all(INTEGER)) return { name, type: 'integer', ...nullable };
    if (all(DECIMAL)) return { name, type: 'number', ...nullable };
    if (all(DATE)) return { name, type: 'date', ...nullable };
    if (present.length > 0 && present.every((v) => BOOLEAN.has(v.toLowerCase()))) return { name, type: 'boolean', ...nullable };
    const distinct = [...new Set(present)].sort();
    if (distinct.length <= MAX_CATEGORIES && present.length >= 2 * distinct.length) return { name, type: 'category', ...nullable, values: distinct, onUnseen: 'flag' };
    return { name, type: 'string', ...nullable };
  });
}

/** The inferred columns as the YAML of a spec's `schema:` section. */
export function schemaYaml(columns: InferredColumn[]): string {
  const lines = columns.map((c) => {
    const parts = [`name: ${JSON.stringify(c.name)}`, `type: ${c.type}`];
    if (c.nullable) parts.push('nullable: true');
    if (c.values) parts.push(`values: [${c.values.map((v) => JSON.stringify(v)).join(', ')}]`, `onUnseen: ${c.onUnseen}`);
    return `    - { ${parts.join(', ')} }`;
  });
  return `schema:\n  columns:\n${lines.join('\n')}\n`;
}

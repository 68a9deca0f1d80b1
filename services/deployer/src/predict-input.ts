import { declaresImputation, type FittedTransform, type RawRow } from '@refit/modeling';
import { InvalidInputError } from '@refit/platform';

/** Limits of one Predict request (REFIT_PREDICT_MAX_ROWS, REFIT_PREDICT_MAX_COLUMNS). */
export type PredictLimits = { maxRows: number; maxColumns: number };

/** Most places a refusal lists before it says how many more there are. */
const LIST = 5;

const listed = (items: readonly string[]): string => (items.length > LIST ? `${items.slice(0, LIST).join(', ')} and ${items.length - LIST} more` : items.join(', '));

/** The path of a cell of `rows` in the request, as a BadRequest field violation names it: `rows[3].temp_max`, `rows[0]["max temp"]`. */
const cellPath = (row: number, column: string): string => `rows[${row}]${/^[A-Za-z_][A-Za-z0-9_]*$/.test(column) ? `.${column}` : `[${JSON.stringify(column)}]`}`;

/** What a Predict request carries, in either shape. */
export type PredictShape = { rows: readonly unknown[]; columns: readonly string[]; values: ArrayLike<number> };

/**
 * The rows of a Predict request, checked before any model sees them: one shape only (`rows`, or
 * `columns` + `values`), at most `maxRows` rows and `maxColumns` columns, distinct non-empty column
 * names, finite numbers (NaN is a missing value in the columnar shape), and in `rows` only scalar
 * cells (a number, string, bool or null: a struct or list is no feature value).
 * @throws InvalidInputError naming the row and column and what to send instead.
 */
export function requestRows(req: PredictShape, limits: PredictLimits): { rows: RawRow[]; columnar: boolean } {
  if (req.rows.length > 0 && (req.columns.length > 0 || req.values.length > 0)) {
    throw new InvalidInputError(`the request has both rows (${req.rows.length}) and columns/values (${req.columns.length} columns): send one shape, rows or columns + values`, { field: 'rows' });
  }
  if (req.rows.length === 0 && req.columns.length === 0 && req.values.length > 0) {
    throw new InvalidInputError(`values (${req.values.length}) came without columns: name the columns the values fill, row after row`, { field: 'columns' });
  }
  const columnar = req.rows.length === 0 && req.columns.length > 0;
  if (columnar) {
    if (req.columns.length > limits.maxColumns) throw new InvalidInputError(`${req.columns.length} columns in one request; at most ${limits.maxColumns} (REFIT_PREDICT_MAX_COLUMNS)`, { field: 'columns' });
    const rows = Math.floor(req.values.length / req.columns.length);
    if (rows > limits.maxRows) throw new InvalidInputError(`${rows} rows in one call; at most ${limits.maxRows} (REFIT_PREDICT_MAX_ROWS): split the request`, { field: 'values' });
    return { rows: columnarRows(req.columns, req.values), columnar };
  }
  if (req.rows.length > limits.maxRows) throw new InvalidInputError(`${req.rows.length} rows in one call; at most ${limits.maxRows} (REFIT_PREDICT_MAX_ROWS): split the request`, { field: 'rows' });
  req.rows.forEach(checkRow(limits));
  return { rows: req.rows as RawRow[], columnar };
}

function checkRow(limits: PredictLimits): (row: unknown, i: number) => void {
  return (row, i) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new InvalidInputError(`rows[${i}] is not an object of column → value`, { field: `rows[${i}]` });
    const keys = Object.keys(row);
    if (keys.length > limits.maxColumns) throw new InvalidInputError(`rows[${i}] has ${keys.length} columns; at most ${limits.maxColumns} (REFIT_PREDICT_MAX_COLUMNS)`, { field: `rows[${i}]` });
    for (const k of keys) {
      const v = (row as Record<string, unknown>)[k];
      if (typeof v === 'object' && v !== null) {
        throw new InvalidInputError(`row ${i}: column "${k}" is a ${Array.isArray(v) ? 'list' : 'struct'}; a feature value is a number, string, bool or null`, { field: cellPath(i, k), details: { row: i, column: k } });
      }
      if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidInputError(`row ${i}: column "${k}" is not a finite number: ${v}`, { field: cellPath(i, k), details: { row: i, column: k } });
    }
  };
}

/**
 * Rows of the columnar fast path (`columns` + row-major `values`, NaN for a missing value).
 * @throws InvalidInputError on a duplicate or empty column name, values that do not fill whole
 *   rows, or a value that is ±Infinity.
 */
export function columnarRows(columns: readonly string[], values: ArrayLike<number>): RawRow[] {
  const d = columns.length;
  const seen = new Set<string>();
  columns.forEach((c, j) => {
    if (c.trim() === '') throw new InvalidInputError(`columns[${j}] is empty: name every column`, { field: `columns[${j}]` });
    if (seen.has(c)) throw new InvalidInputError(`column "${c}" is given twice (columns[${columns.indexOf(c)}] and columns[${j}]): name each column once`, { field: `columns[${j}]`, details: { column: c } });
    seen.add(c);
  });
  if (values.length % d !== 0) throw new InvalidInputError(`${values.length} values do not fill rows of ${d} columns (${listed(columns)})`, { field: 'values' });
  const rows: RawRow[] = new Array<RawRow>(values.length / d);
  for (let i = 0; i < rows.length; i++) {
    const row: RawRow = {};
    for (let j = 0; j < d; j++) {
      const v = values[i * d + j];
      if (v - v !== 0 && !Number.isNaN(v)) throw new InvalidInputError(`row ${i}: column "${columns[j]}" is not a finite number: ${v} (NaN stands for a missing value)`, { field: `values[${i * d + j}]`, details: { row: i, column: columns[j] } });
      row[columns[j]] = Number.isNaN(v) ? null : v;
    }
    rows[i] = row;
  }
  return rows;
}

const isAbsent = (v: RawRow[string]): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) || (typeof v === 'string' && v.trim() === '');

/**
 * The features each row lacks that `version`'s transform fills as the spec declares (`impute`, a
 * missing indicator): per row, their names (undefined where none was filled).
 * @throws InvalidInputError when a row lacks a feature the model was trained with and the spec
 *   declares no imputation for: its name, the rows, and what to do.
 */
export function missingFeatures(t: FittedTransform, version: string, rows: readonly RawRow[]): Array<string[] | undefined> {
  const imputed: Array<string[] | undefined> = new Array<string[] | undefined>(rows.length);
  const refused: Array<{ name: string; rows: number[] }> = [];
  for (const f of t.features) {
    const fills = declaresImputation(f);
    let lacking: number[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      if (!isAbsent(rows[i][f.name])) continue;
      if (fills) (imputed[i] ??= []).push(f.name);
      else (lacking ??= []).push(i);
    }
    if (lacking) refused.push({ name: f.name, rows: lacking });
  }
  if (refused.length > 0) {
    const what = refused.map((r) => `feature "${r.name}" is missing in ${r.rows.length === rows.length ? (rows.length === 1 ? 'the row' : `all ${rows.length} rows`) : `row${r.rows.length > 1 ? 's' : ''} ${listed(r.rows.map(String))}`}`);
    throw new InvalidInputError(
      `${listed(what)}: model ${version} was trained with ${refused.length > 1 ? 'them' : 'it'} and the spec declares no imputation. Send a value (null is missing too), or declare \`impute\` for the feature in the spec and retrain.`,
      {
        reason: 'MISSING_FEATURE',
        // One violation per missing feature, at the first row that lacks it.
        violations: refused.map((r, k) => ({ field: cellPath(r.rows[0], r.name), description: what[k] })),
        details: { column: refused[0].name, row: refused[0].rows[0] },
      },
    );
  }
  return imputed;
}

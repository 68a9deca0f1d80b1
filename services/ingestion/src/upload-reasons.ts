// What a push answers when its file is refused or broken: each message names what was found, where,
// and what to do. Texts from the file are shown with a NUL as ␀ (pg-text.ts).
import type { CsvError } from './csv-reader.js';
import { printable } from './pg-text.js';
import type { QuarantineEntry } from './store.js';
import type { DuplicateName } from './validate.js';

/** Names listed in a message before the rest are counted (a file may have 50,000 columns). */
const NAMES_LISTED = 20;

/** `'a', 'b', 'c'`, or the first ones and how many more. */
export function quoted(names: string[]): string {
  const listed = names.slice(0, NAMES_LISTED).map((m) => `'${printable(m)}'`).join(', ');
  return names.length > NAMES_LISTED ? `${listed} and ${names.length - NAMES_LISTED} more` : listed;
}

const TIMES = ['', 'once', 'twice'];

/** `a`, `a and b`, `a, b and c`. */
const listed = (items: string[]): string => (items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}` : items.join(''));

/** The quarantine entry of the spot where a file stopped being readable CSV or JSON lines. */
export const brokenEntry = (e: CsvError, what: string): QuarantineEntry => ({
  line: e.line,
  column: '',
  expected: `well-formed ${what}`,
  value: '',
  message: `malformed ${what} at line ${e.line}: ${printable(e.message)}; the rest of the file was not read (it is kept with the raw upload)`,
  raw: e.raw,
});

/** Why a header with duplicate names is refused: each name, how often and in which columns. */
export const duplicatesReason = (dups: DuplicateName[]): string =>
  `the CSV header (line 1) names ${listed(dups.map((d) => `'${printable(d.name)}' ${TIMES[d.columns.length] ?? `${d.columns.length} times`} (columns ${listed(d.columns.map(String))})`))}: which one holds the data is unclear; rename or drop the extra columns`;

/** Why a file without a declared column is refused, naming the undeclared ones it has instead (a rename?). */
export function missingReason(missing: string[], extra: string[], expected: string[], where: string): string {
  const renamed = extra.length > 0 ? `; the file has ${extra.length > 1 ? 'columns' : 'a column'} ${quoted(extra)} the schema does not declare — renamed? Rename it back or update schema.columns` : '';
  return `column${missing.length > 1 ? 's' : ''} ${quoted(missing)} missing from ${where}${renamed}; expected columns: ${expected.join(', ')}`;
}

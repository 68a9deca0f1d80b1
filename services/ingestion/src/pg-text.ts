// Postgres stores no NUL (U+0000) in text (22021) nor in jsonb (22P05): a NUL anywhere in what a
// batch records failed the whole push after its objects were written. Rows holding one are
// quarantined (row-check.ts); these make every other text a push records storable, whatever a
// file name, a header or a JSON key holds.

/** What a NUL is shown as in stored and reported text (U+2400 SYMBOL FOR NULL). */
export const NUL_SHOWN_AS = '\u2400';

/** `text` with each NUL shown as ␀ (allocates only when there is one). */
export function printable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', NUL_SHOWN_AS) : text;
}

/**
 * `value` as JSON that jsonb takes: each NUL in a string or a key becomes ␀. The JSON text spells a
 * NUL `\u0000`; an escaped backslash `\\` is matched first so that `\\u0000` (a backslash, then
 * the text u0000) is left alone.
 */
export function pgJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.includes('\\u0000') ? json.replace(/\\\\|\\u0000/g, (m) => (m === '\\\\' ? m : NUL_SHOWN_AS)) : json;
}

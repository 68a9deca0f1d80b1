// The check shared by the unit and integration tests of the typed GetStats / GetTransform fields:
// the typed message is the JSON document the *_json field carries, field by field.
import { expect } from 'vitest';

/**
 * Compares a JSON document (as stored and served in the *_json field) with its typed message, field
 * by field: every JSON field has the same value in the message (a JSON null: unset, or NaN in a map
 * or a plain double; an int64: the same number), and the message has nothing the JSON lacks. A
 * one-hot feature's `fill` is the message's `fillCategory`. Returns how many values were compared.
 */
export function expectSame(json: unknown, typed: unknown, path = '$'): number {
  if (json === null) {
    if (typed !== undefined && !(typeof typed === 'number' && Number.isNaN(typed))) expect.fail(`${path}: null in the JSON, ${String(typed)} typed`);
    return 1;
  }
  if (Array.isArray(json)) {
    expect(Array.isArray(typed), `${path} is a list`).toBe(true);
    const list = typed as unknown[];
    expect(list.length, `${path} length`).toBe(json.length);
    return json.reduce<number>((n, x, i) => n + expectSame(x, list[i], `${path}[${i}]`), 0);
  }
  if (typeof json === 'object') {
    expect(typed !== null && typeof typed === 'object', `${path} is a message or map`).toBe(true);
    const t = typed as Record<string, unknown>;
    const doc = json as Record<string, unknown>;
    const rename = (k: string) => (k === 'fill' && doc.kind === 'onehot' ? 'fillCategory' : k);
    const extra = Object.keys(t).filter((k) => !k.startsWith('$') && t[k] !== undefined && !(Array.isArray(t[k]) && (t[k] as unknown[]).length === 0 && !(k in doc)) && !(t[k] !== null && typeof t[k] === 'object' && !Array.isArray(t[k]) && Object.keys(t[k] as object).length === 0 && !(k in doc)) && !Object.keys(doc).map(rename).includes(k));
    expect(extra, `${path}: typed fields the JSON does not have`).toEqual([]);
    return Object.entries(doc).reduce((n, [k, v]) => n + expectSame(v, t[rename(k)], `${path}.${k}`), 0);
  }
  const value = typeof typed === 'bigint' ? Number(typed) : typed;
  expect(value, path).toBe(json);
  return 1;
}

/** Limits and formats of every input the console takes: path parameters, query and form fields. */
import { REASON_MAX } from '@refit/views';
import { HttpError } from './http.js';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const VERSION = /^v\d{1,9}$/;
/** Aliases a person may move (RegistryService SetAlias). */
export const ALIASES = ['champion', 'candidate', 'shadow', 'canary', 'previous'] as const;

const bad = (what: string, why: string): HttpError => new HttpError(400, 'Not accepted', `${what}: ${why}`);

/** A pipeline name from the path (lower-case letters, digits and dashes, at most 63). */
export function pipelineName(raw: string): string {
  const s = safeDecode(raw);
  if (!NAME.test(s)) throw bad('pipeline name', 'use lower-case letters, digits and dashes, starting with a letter, at most 63 characters');
  return s;
}

/** A run id from the path (letters, digits and . _ : -, at most 128). */
export function runId(raw: string): string {
  const s = safeDecode(raw);
  if (!ID.test(s)) throw bad('run id', 'use letters, digits and . _ : - only, at most 128 characters');
  return s;
}

/** A whole number query parameter within [min, max], or the default when absent. */
export function intParam(q: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!/^\d{1,6}$/.test(v) || n < min || n > max) throw bad(`?${name}`, `give a whole number from ${min} to ${max}`);
  return n;
}

/** One of a few words from the query, or the default. */
export function choiceParam<T extends string>(q: URLSearchParams, name: string, choices: readonly T[], fallback: T): T {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  if (!(choices as readonly string[]).includes(v)) throw bad(`?${name}`, `one of ${choices.filter(Boolean).join(', ')}`);
  return v as T;
}

/** The required reason of an action (1 to {@link REASON_MAX} characters, no control characters). */
export function reasonField(form: URLSearchParams): string {
  const r = (form.get('reason') ?? '').trim();
  if (r.length === 0) throw bad('reason', 'say why (it is recorded with the decision)');
  if (r.length > REASON_MAX) throw bad('reason', `at most ${REASON_MAX} characters`);
  if (/[\u0000-\u001f\u007f]/.test(r)) throw bad('reason', 'one line of text, without control characters');
  return r;
}

/** The alias and version of a SetAlias form. */
export function aliasFields(form: URLSearchParams): { alias: string; version: string } {
  const alias = form.get('alias') ?? '';
  const version = form.get('version') ?? '';
  if (!(ALIASES as readonly string[]).includes(alias)) throw bad('alias', `one of ${ALIASES.join(', ')}`);
  if (!VERSION.test(version)) throw bad('version', 'a version like v3');
  return { alias, version };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad('path', 'it is not valid percent-encoding');
  }
}

// What a spec may cost to hold: it is parsed by the trigger service on every apply, stored, and
// carried in events (NATS refuses a payload over 1 MiB). A spec past a limit is refused naming the
// field, before anything large is built from it.
import { Lexer } from 'yaml';
import { minCronIntervalSeconds } from './cron-interval.js';

/** Limits a spec is held to when it is parsed ({@link parseSpec}) or validated. */
export type SpecLimits = {
  /** Largest spec text in UTF-8 bytes; the JSON it expands to (aliases resolved) may be twice this. Default 262144 (256 KiB). */
  maxBytes: number;
  /** YAML aliases (`*name`) resolved, counted as the `yaml` package's `maxAliasCount`. Default 50. */
  maxAliases: number;
  /** Deepest nesting of mappings, sequences and flow brackets. Default 32. */
  maxDepth: number;
  /** Declared columns (`schema.columns`). Default 1000. */
  maxColumns: number;
  /** Features (`features`). Default 1000. */
  maxFeatures: number;
  /** Characters of `description`. Default 4096. */
  maxDescriptionLength: number;
  /** Characters of a name: a mapping key, a column's or a feature's name. Default 128. */
  maxNameLength: number;
  /** Characters of any other string. Default 1024. */
  maxStringLength: number;
  /** Shortest time between two firings of a schedule trigger's cron, in seconds. Default 60. */
  minCronIntervalSeconds: number;
};

/** The limits applied when none are given. */
export const DEFAULT_SPEC_LIMITS: Readonly<SpecLimits> = Object.freeze({
  maxBytes: 256 * 1024,
  maxAliases: 50,
  maxDepth: 32,
  maxColumns: 1000,
  maxFeatures: 1000,
  maxDescriptionLength: 4096,
  maxNameLength: 128,
  maxStringLength: 1024,
  minCronIntervalSeconds: 60,
});

/** A problem found while checking limits: `hard` ones stop validation (what follows would be costly). */
export type LimitProblem = { message: string; hard: boolean };

type Path = Array<string | number>;

const pathText = (path: Path): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(root)';

const size = (bytes: number): string => (bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`);

/** The size of the text, checked before it is parsed. */
export function textSizeProblem(text: string, limits: SpecLimits): string | undefined {
  const bytes = Buffer.byteLength(text);
  return bytes > limits.maxBytes ? `(spec): ${size(bytes)} is over the limit of ${size(limits.maxBytes)}` : undefined;
}

/**
 * Nesting of the YAML text, from its tokens (the `yaml` lexer does not recurse): flow brackets, and
 * block sequence items or explicit keys written on one line (`- - - x`). The parser itself recurses
 * and 10,000 brackets crashed the process (out of memory), so this runs first.
 */
export function yamlDepthProblem(text: string, limits: SpecLimits): string | undefined {
  let line = 1;
  let flow = 0;
  let compact = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') flow++;
    else if (token === ']' || token === '}') flow = Math.max(0, flow - 1);
    else if (token === '-' || token === '?') compact++;
    else if (token.includes('\n')) {
      for (const c of token) if (c === '\n') line++;
      compact = 0;
    }
    if (flow + compact > limits.maxDepth) return `(yaml) line ${line}: nested deeper than ${limits.maxDepth} levels; a spec is a few levels deep`;
  }
  return undefined;
}

/** What is wrong with a string (or a key) at `path`: its length over `max`, or a control character. */
function stringProblem(value: string, path: Path, max: number): string | undefined {
  if (value.length > max) return `${pathText(path)}: ${value.length} characters; at most ${max}`;
  // Tabs and line breaks are text; other C0 controls are not (NUL cannot even be stored, and an
  // escape sequence in a description would drive the terminal that shows it).
  const m = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(value);
  if (m) return `${pathText(path)}: holds a control character (U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}): remove it`;
  return undefined;
}

/** The longest a string at `path` may be: `description`, a name, or any other. */
function maxLength(path: Path, limits: SpecLimits): number {
  const last = path[path.length - 1];
  if (path.length === 1 && last === 'description') return limits.maxDescriptionLength;
  return last === 'name' ? limits.maxNameLength : limits.maxStringLength;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Cron expressions of schedule triggers, by path. */
function cronProblem(trigger: Record<string, unknown>, path: Path, limits: SpecLimits): string | undefined {
  if (trigger.kind !== 'schedule' || typeof trigger.cron !== 'string') return undefined;
  const every = minCronIntervalSeconds(trigger.cron, limits.minCronIntervalSeconds);
  if (every === undefined || every >= limits.minCronIntervalSeconds) return undefined;
  const sixFields = trigger.cron.trim().split(/\s+/).length === 6 && limits.minCronIntervalSeconds <= 60;
  const hint = sixFields ? " (a 6-field cron starts with seconds: use 5 fields, e.g. '* * * * *' for every minute)" : '';
  return `${pathText([...path, 'cron'])}: '${trigger.cron}' fires every ${every} second${every === 1 ? '' : 's'}; a schedule fires at most once every ${limits.minCronIntervalSeconds} seconds${hint}`;
}

/**
 * Every limit the parsed spec breaks, walking it without recursion. Hard ones come alone (nothing
 * more is worth checking): nesting, the expanded size, the number of columns and features
 * (validating 50,000 columns took 25 s). The others are reported with the schema's problems:
 * string lengths, control characters, schedule intervals.
 */
export function limitProblems(value: unknown, limits: SpecLimits): LimitProblem[] {
  const counts = countProblems(value, limits);
  if (counts.length > 0) return counts;
  const problems: LimitProblem[] = [];
  const soft = (message: string | undefined): void => void (message && problems.push({ message, hard: false }));
  const stack: Array<{ value: unknown; path: Path }> = [{ value, path: [] }];
  let bytes = 0;
  while (stack.length > 0) {
    const { value: v, path } = stack.pop() as { value: unknown; path: Path };
    if (bytes > 2 * limits.maxBytes) return [{ message: `(spec): expands to more than ${size(2 * limits.maxBytes)} (aliases resolved); the limit is twice the text's ${size(limits.maxBytes)}`, hard: true }];
    if (path.length > limits.maxDepth) return [{ message: `${pathText(path.slice(0, limits.maxDepth + 1))}: nested deeper than ${limits.maxDepth} levels; a spec is a few levels deep`, hard: true }];
    if (typeof v === 'string') {
      bytes += v.length + 3;
      soft(stringProblem(v, path, maxLength(path, limits)));
      continue;
    }
    bytes += 8;
    if (typeof v !== 'object' || v === null) continue;
    const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k] of entries) if (typeof k === 'string') bytes += k.length + 4;
    for (const [k] of entries) if (typeof k === 'string') soft(stringProblem(k, [...path, k], limits.maxNameLength));
    if (isRecord(v) && path.length === 2 && path[0] === 'triggers') soft(cronProblem(v, path, limits));
    // Pushed last first: taken in document order.
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i][1], path: [...path, entries[i][0]] });
  }
  if (bytes > 2 * limits.maxBytes) return [{ message: `(spec): expands to more than ${size(2 * limits.maxBytes)} (aliases resolved); the limit is twice the text's ${size(limits.maxBytes)}`, hard: true }];
  return problems;
}

/** Too many columns or features: hard problems, checked before anything else. */
function countProblems(value: unknown, limits: SpecLimits): LimitProblem[] {
  if (!isRecord(value)) return [];
  const out: LimitProblem[] = [];
  const columns = isRecord(value.schema) ? value.schema.columns : undefined;
  if (Array.isArray(columns) && columns.length > limits.maxColumns) out.push({ message: `schema.columns: ${columns.length} columns; at most ${limits.maxColumns}`, hard: true });
  if (Array.isArray(value.features) && value.features.length > limits.maxFeatures) out.push({ message: `features: ${value.features.length} features; at most ${limits.maxFeatures}`, hard: true });
  return out;
}

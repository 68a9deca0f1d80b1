import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { DEFAULT_SPEC_LIMITS, limitProblems, textSizeProblem, yamlDepthProblem, type SpecLimits } from './limits.js';
import { pipelineSpecSchema, type PipelineSpec } from './pipeline-spec.js';

/** How many problems a SpecError's message lists (`problems` has them all). */
const PROBLEMS_IN_MESSAGE = 50;

/** A spec that failed validation; `problems` lists every bad field as `path: message`. */
export class SpecError extends Error {
  /** One entry per problem, each naming the field (`features[1].type: …`). */
  readonly problems: string[];
  constructor(problems: string[]) {
    const more = problems.length > PROBLEMS_IN_MESSAGE ? `; … and ${problems.length - PROBLEMS_IN_MESSAGE} more` : '';
    super(`invalid pipeline spec: ${problems.slice(0, PROBLEMS_IN_MESSAGE).join('; ')}${more}`);
    this.name = 'SpecError';
    this.problems = problems;
  }
}

/** Options of {@link parseSpec} and {@link validateSpec}. */
export type SpecOptions = {
  /** Limits to hold the spec to, each defaulting to {@link DEFAULT_SPEC_LIMITS}'s. */
  limits?: Partial<SpecLimits>;
};

/** Formats a zod issue path as `features[1].type`. */
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('') || '(root)';
}

function describe(issue: z.core.$ZodIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** The defaults with the limits `options` sets (one left undefined keeps its default). */
const limitsOf = (options: SpecOptions | undefined): SpecLimits => ({
  ...DEFAULT_SPEC_LIMITS,
  ...Object.fromEntries(Object.entries(options?.limits ?? {}).filter(([, v]) => v !== undefined)),
});

function validate(value: unknown, limits: SpecLimits | undefined): PipelineSpec {
  const exceeded = limits ? limitProblems(value, limits) : [];
  if (exceeded.some((p) => p.hard)) throw new SpecError(exceeded.map((p) => p.message));
  const result = pipelineSpecSchema.safeParse(value);
  const problems = [...exceeded.map((p) => p.message), ...(result.success ? [] : result.error.issues.map(describe))];
  if (problems.length > 0 || !result.success) throw new SpecError(problems);
  return result.data;
}

/**
 * Validates an already-parsed object as a pipeline spec, filling defaults, within the limits of
 * `options` (nesting, sizes, counts, string lengths, schedule intervals). Throws {@link SpecError}.
 */
export function validateSpec(value: unknown, options?: SpecOptions): PipelineSpec {
  return validate(value, limitsOf(options));
}

/** Where a YAML error or warning is, as `line 3, column 5`. */
const at = (e: { linePos?: [{ line: number; col: number }, ...unknown[]] }): string => (e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'unknown position');

/** The YAML text as a value, or the SpecError saying why it is not one (never another error). */
function readYaml(text: string, limits: SpecLimits): unknown {
  let doc;
  try {
    // Warnings are not logged (they would reach the service's stderr from anyone's spec): they refuse it below.
    doc = parseDocument(text, { logLevel: 'silent' });
  } catch (e) {
    // Anything the parser throws is still about this text: never an internal error.
    throw new SpecError([`(yaml): the text could not be read as YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  const [bad] = [...doc.errors, ...doc.warnings];
  // An unknown tag (`!!js/function`) is a warning to the yaml package; here it is a mistake.
  // Its message repeats the position the problem starts with.
  if (bad) throw new SpecError([`(yaml) ${at(bad)}: ${bad.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`]);
  try {
    return doc.toJS({ maxAliasCount: limits.maxAliases });
  } catch (e) {
    // The yaml package reports an alias problem as a ReferenceError while it builds the value.
    const unresolved = e instanceof ReferenceError ? /^Unresolved alias[^:]*: (.*)$/.exec(e.message) : null;
    if (unresolved) throw new SpecError([`(yaml): unresolved alias *${unresolved[1]}: an alias must follow the anchor (&${unresolved[1]}) it refers to`]);
    if (e instanceof ReferenceError) {
      throw new SpecError([`(yaml): the aliases (*name) expand past the limit of ${limits.maxAliases}: a spec needs few, if any (a YAML bomb repeats them to make a huge document)`]);
    }
    throw new SpecError([`(yaml): the text could not be read as YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
}

/**
 * Parses and validates a YAML (or JSON) pipeline spec within the limits of `options` (services
 * pass their own). The text's size and nesting are checked before the YAML parser sees it, and
 * alias expansion is bounded while it runs. Throws {@link SpecError} naming each bad field, and
 * nothing else whatever the text.
 */
export function parseSpec(text: string, options?: SpecOptions): PipelineSpec {
  const limits = limitsOf(options);
  const before = textSizeProblem(text, limits) ?? yamlDepthProblem(text, limits);
  if (before) throw new SpecError([before]);
  const value = readYaml(text, limits);
  if (value === null || typeof value !== 'object') throw new SpecError(['(root): expected a YAML mapping with apiVersion, kind, name…']);
  return validate(value, limits);
}

/**
 * Parses a spec carried in an event (`spec_json`), which was validated when it was applied: the
 * limits are not applied again, so a stricter limit never makes an applied spec unreadable.
 */
export function specFromJson(json: string): PipelineSpec {
  return validate(JSON.parse(json), undefined);
}

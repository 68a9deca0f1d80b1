import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { pipelineSpecSchema, type PipelineSpec } from './pipeline-spec.js';

/** A spec that failed validation; `problems` lists every bad field as `path: message`. */
export class SpecError extends Error {
  /** One entry per problem, each naming the field (`features[1].type: …`). */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid pipeline spec: ${problems.join('; ')}`);
    this.name = 'SpecError';
    this.problems = problems;
  }
}

/** Formats a zod issue path as `features[1].type`. */
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('') || '(root)';
}

function describe(issue: z.core.$ZodIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** Validates an already-parsed object as a pipeline spec, filling defaults. Throws {@link SpecError}. */
export function validateSpec(value: unknown): PipelineSpec {
  const result = pipelineSpecSchema.safeParse(value);
  if (!result.success) throw new SpecError(result.error.issues.map(describe));
  return result.data;
}

/** Parses and validates a YAML (or JSON) pipeline spec. Throws {@link SpecError} naming each bad field. */
export function parseSpec(text: string): PipelineSpec {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'unknown position';
      throw new SpecError([`(yaml) ${where}: ${e.message.split('\n')[0]}`]);
    }
    throw e;
  }
  if (value === null || typeof value !== 'object') throw new SpecError(['(root): expected a YAML mapping with apiVersion, kind, name…']);
  return validateSpec(value);
}

/** Parses a spec carried in an event (`spec_json`), which was validated when it was applied. */
export function specFromJson(json: string): PipelineSpec {
  return validateSpec(JSON.parse(json));
}

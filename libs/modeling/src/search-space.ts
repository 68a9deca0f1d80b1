import { ModelingInputError } from './errors.js';
import { mulberry32 } from './random.js';
import type { ModelSpec } from './spec.js';

/** Model fields a search may vary. */
export const TUNABLE = ['kind', 'hidden', 'activation', 'dropout', 'learningRate', 'l2', 'batchSize', 'classWeight', 'epochs'] as const;
/** One of {@link TUNABLE}. */
export type TunableField = (typeof TUNABLE)[number];

/** A value a tunable field can take in a trial. */
export type ParamValue = ModelSpec[TunableField];

/**
 * Where one field's values come from: a list of `choices`, a uniform `range` [lo, hi] (rounded when
 * `integer`), or a `logRange` [lo, hi] (log-uniform, both > 0; for learning rates and L2).
 */
export type ParamDomain =
  | { choices: ParamValue[] }
  | { range: [number, number]; integer?: boolean }
  | { logRange: [number, number]; integer?: boolean };

/** The declared search space: a domain per tunable field. */
export type SearchSpace = Partial<Record<TunableField, ParamDomain>>;

/** One point of the space: the fields a trial overrides. */
export type TrialParams = Partial<Pick<ModelSpec, TunableField>>;

function fail(what: string): never {
  throw new ModelingInputError(`search: ${what}`);
}

/** Checks the space and returns its fields in a fixed (sorted) order, so sampling is reproducible. */
export function checkSpace(space: SearchSpace): TunableField[] {
  const fields = Object.keys(space).sort() as TunableField[];
  if (fields.length === 0) fail('space must name at least one field');
  for (const f of fields) {
    if (!(TUNABLE as readonly string[]).includes(f)) fail(`space.${f}: not a tunable field (one of ${TUNABLE.join(', ')})`);
    const dom = space[f] as ParamDomain;
    if ('choices' in dom) {
      if (!Array.isArray(dom.choices) || dom.choices.length === 0) fail(`space.${f}.choices must be a non-empty list`);
    } else {
      const [lo, hi] = 'range' in dom ? dom.range : dom.logRange;
      if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) fail(`space.${f}: bounds must be finite numbers with lo <= hi, got [${lo}, ${hi}]`);
      if ('logRange' in dom && lo <= 0) fail(`space.${f}.logRange bounds must be > 0, got [${lo}, ${hi}]`);
    }
  }
  return fields;
}

// Four significant digits: trial parameters stay readable in listings, and still reproducible.
const tidy = (x: number, integer?: boolean): number => (integer ? Math.round(x) : Number(x.toPrecision(4)));

/** `count` points drawn from the space with a seeded generator (same seed, same points). */
export function sampleSpace(space: SearchSpace, count: number, seed: number): TrialParams[] {
  const fields = checkSpace(space);
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const p: Record<string, ParamValue> = {};
    for (const f of fields) {
      const dom = space[f] as ParamDomain;
      const u = next();
      if ('choices' in dom) p[f] = structuredClone(dom.choices[Math.min(dom.choices.length - 1, Math.floor(u * dom.choices.length))]);
      else if ('range' in dom) p[f] = tidy(dom.range[0] + u * (dom.range[1] - dom.range[0]), dom.integer);
      else {
        const [lo, hi] = dom.logRange.map(Math.log);
        p[f] = tidy(Math.exp(lo + u * (hi - lo)), dom.integer);
      }
    }
    return p as TrialParams;
  });
}

function gridValues(dom: ParamDomain, steps: number): ParamValue[] {
  if ('choices' in dom) return dom.choices;
  const log = 'logRange' in dom;
  const [lo, hi] = (log ? dom.logRange : dom.range).map((v) => (log ? Math.log(v) : v));
  const pts = steps === 1 || lo === hi ? [lo] : Array.from({ length: steps }, (_, i) => lo + ((hi - lo) * i) / (steps - 1));
  return [...new Set(pts.map((v) => tidy(log ? Math.exp(v) : v, dom.integer)))];
}

/** Every combination of the space: choices as listed, ranges at `steps` evenly (or log-evenly) spaced points. */
export function gridOf(space: SearchSpace, steps: number): TrialParams[] {
  const fields = checkSpace(space);
  if (!Number.isInteger(steps) || steps < 1) fail(`gridSteps must be an integer >= 1, got ${steps}`);
  let points: Array<Record<string, ParamValue>> = [{}];
  for (const f of fields) {
    const values = gridValues(space[f] as ParamDomain, steps);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [f]: structuredClone(v) })));
  }
  return points as TrialParams[];
}

import type { PipelineSpec } from '@refit/spec';
import { pairedStep, stepName, weightAt } from '../../services/deployer/src/rollout.js';
import { analyseStep, guardrailBreach, labeledCounts, type StepAnalysis } from '../../services/deployer/src/rollout-analysis.js';
import { BUILTIN_ROLLOUT_METRICS } from '../../services/deployer/src/rollout-bounds.js';
import type { RolloutConfig } from '../../services/deployer/src/rollout-store.js';
import type { Routing } from '../../services/deployer/src/routing.js';
import type { PredictionLog } from './prediction-log.js';
import type { ReplayModel } from './train.js';

/** A rollout in progress (the deployer's `rollouts` row, in virtual ms). */
export type ActiveRollout = {
  runId: string;
  candidate: ReplayModel;
  /** The champion it started next to (the one serving). */
  champion: ReplayModel;
  config: RolloutConfig;
  step: number;
  weight: number;
  startedAt: number;
  stepStartedAt: number;
  last?: StepAnalysis;
};

/** What an analysis decided: hold the step, move to the next, promote or roll back; the sentence says why. */
export type RolloutAction =
  | { kind: 'hold'; analysis: StepAnalysis; reason: string }
  | { kind: 'advance'; analysis: StepAnalysis; reason: string; step: number; weight: number }
  | { kind: 'promote'; analysis: StepAnalysis; reason: string }
  | { kind: 'rollback'; analysis: StepAnalysis; reason: string };

/**
 * The rollout the registry asks for when a candidate passes: the spec's `rollout:` section (the
 * registry's `rolloutJson`), with a business metric's definition as the deployer reads it from
 * the run's report. Undefined for `direct`. A string: why the rollout cannot start.
 */
export function rolloutConfigOf(spec: PipelineSpec): RolloutConfig | string | undefined {
  const r = spec.rollout;
  if (r.strategy === 'direct') return undefined;
  const config = { ...r, strategy: r.strategy } as RolloutConfig;
  if (BUILTIN_ROLLOUT_METRICS.has(r.metric)) return config;
  const m = spec.business?.metrics[r.metric];
  if (!m) return `the rollout metric '${r.metric}' is not declared in the run's business.metrics`;
  return { ...config, business: { expr: m.expr, goal: m.goal, costs: { fp: 0, fn: 0, tp: 0, tn: 0, ...spec.business?.costs } } };
}

/** The routing of a step (the deployer's `routingOf`). */
export function routingAt(c: RolloutConfig, step: number): Routing {
  if (c.strategy === 'shadow') return { strategy: 'shadow' };
  if (c.strategy === 'ab') return { strategy: 'ab', split: c.split, entityColumn: c.entityColumn ?? '' };
  return { strategy: 'canary', weight: c.steps[step] };
}

/** A new rollout of `candidate` next to `champion`, at its first step. */
export function beginRollout(runId: string, candidate: ReplayModel, champion: ReplayModel, config: RolloutConfig, now: number): ActiveRollout {
  return { runId, candidate, champion, config, step: 0, weight: weightAt(config, 0), startedAt: now, stepStartedAt: now };
}

/** One step's analysis on the step's own rows (the deployer's `analyse`). */
function analyse(r: ActiveRollout, log: PredictionLog, now: number): StepAnalysis {
  const c = r.config;
  const row = { config: c, step: r.step };
  if (pairedStep(row)) {
    const { candidate, champion } = log.pairsSince(c.strategy, r.candidate.version, r.stepStartedAt, now);
    return analyseStep(c, candidate, champion, true);
  }
  const variant = c.strategy === 'ab' ? 'b' : 'canary';
  const cand = log.labeledSince(variant, r.candidate.version, r.stepStartedAt, now);
  const champ = log.labeledSince('champion', r.champion.version, r.stepStartedAt, now);
  const divergence = log.divergenceSince(variant, r.candidate.version, r.stepStartedAt, now);
  const a = analyseStep(c, cand, champ, false);
  return divergence === null ? a : { ...a, divergence };
}

/**
 * One analysis of a rollout at `now`, deciding as the deployer's controller does (rollout.ts
 * `step`, `passStep`, `holdExpired`, which act on Postgres and the registry and so cannot be
 * called here): guardrails first, then fail → rollback, pass → next step or promotion; an
 * inconclusive step past `holdMinutes` follows `onInconclusive`, and a step short of `minLabeled`
 * labeled rows a side is never passed on the clock. Same analyses, same sentences.
 */
export function decideRollout(r: ActiveRollout, log: PredictionLog, now: number): RolloutAction {
  const c = r.config;
  const at = stepName({ config: c, step: r.step });
  let a = analyse(r, log, now);
  if (c.guardrails) {
    const operational = log.operationalSince(c.strategy, r.candidate.version, r.stepStartedAt, now);
    a = { ...a, operational };
    const breach = guardrailBreach(c.guardrails, operational);
    if (breach) return { kind: 'rollback', reason: `${at}: ${breach}`, analysis: { ...a, outcome: 'fail', reason: breach } };
  }
  const pass = (reason: string): RolloutAction =>
    c.strategy === 'canary' && r.step + 1 < c.steps.length ? { kind: 'advance', reason, analysis: a, step: r.step + 1, weight: c.steps[r.step + 1] } : { kind: 'promote', reason, analysis: a };
  if (a.outcome === 'fail') return { kind: 'rollback', reason: `${at}: ${a.reason}`, analysis: a };
  if (a.outcome === 'pass') return pass(`${at}: ${a.reason}`);
  if (now - r.stepStartedAt <= c.holdMinutes * 60_000) return { kind: 'hold', reason: a.reason, analysis: a };
  if (a.nCandidate < c.minLabeled || a.nChampion < c.minLabeled) {
    const short = `${at}: still short of feedback after the ${c.holdMinutes}-min hold: ${labeledCounts(a, c.minLabeled)}`;
    if (c.onInconclusive === 'rollback') return { kind: 'rollback', reason: `${short} (onInconclusive: rollback)`, analysis: a };
    const then = c.onInconclusive === 'promote' ? 'onInconclusive: promote never passes a step without them, so it holds until they arrive' : 'onInconclusive: hold';
    return { kind: 'hold', reason: `${short}; ${then}`, analysis: a };
  }
  const late = `${at} still inconclusive after the ${c.holdMinutes}-min hold (onInconclusive: ${c.onInconclusive}): ${a.reason}`;
  if (c.onInconclusive === 'promote') return pass(late);
  if (c.onInconclusive === 'rollback') return { kind: 'rollback', reason: late, analysis: a };
  return { kind: 'hold', reason: late, analysis: a };
}

/** The rollback sentence the deployer writes on the run (`rollbackNow`). */
export function rollbackSummary(r: ActiveRollout, championVersion: string, reason: string): string {
  const where = r.config.strategy === 'shadow' ? stepName({ config: r.config, step: r.step }) : `${stepName({ config: r.config, step: r.step })} (weight ${r.weight}%)`;
  return `${r.config.strategy} of ${r.candidate.version} rolled back at ${where}, ${championVersion} stays champion: ${reason}`;
}

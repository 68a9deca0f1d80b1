import { RunStatus, type Run } from '@refit/contracts';
import { createdAt, finishedAt } from './harness.js';

/** A run as the report shows it. */
export type RunSummary = { runId: string; status: string; outcome: string; modelVersion: string; durationMs: number; finishedAt: string; failure?: string };

/** What one scenario did and found. */
export type ScenarioResult = {
  scenario: string;
  fault: string;
  /** Processes per service. */
  replicas: number;
  pass: boolean;
  runs: RunSummary[];
  /** When the fault began (ISO). */
  faultAt?: string;
  /** From the fault to the run's completion (its last update), ms. */
  faultToCompletedMs?: number;
  /** From the end of an outage (the server back) to the run's completion, ms. */
  outageEndToCompletedMs?: number;
  /** What the harness saw while injecting the fault. */
  notes: string[];
  /** Restarts the supervision made on its own, per process. */
  restarts: Record<string, number>;
  /** Everything that is not as a clean run has it; empty when the scenario passes. */
  problems: string[];
  /** Scenario-specific measurements (loop times, champion swap latencies, canary weights…). */
  metrics?: Record<string, unknown>;
  /** Wall time of the whole scenario (stack start to stop), ms. */
  wallMs: number;
};

/** The report's view of a finished run. */
export function summarizeRun(run: Run): RunSummary {
  return {
    runId: run.runId,
    status: RunStatus[run.status].toLowerCase(),
    outcome: run.outcome,
    modelVersion: run.modelVersion,
    durationMs: finishedAt(run) - createdAt(run),
    finishedAt: new Date(finishedAt(run)).toISOString(),
    ...(run.status === RunStatus.FAILED ? { failure: `${run.failedStage}: ${run.failureReason}` } : {}),
  };
}

/** Problems of a run that should have completed with a promoted model. */
export function runProblems(run: Run | undefined, label = 'the run'): string[] {
  if (!run) return [`${label} did not end`];
  if (run.status !== RunStatus.SUCCEEDED) return [`${label} ${RunStatus[run.status].toLowerCase()} at ${run.failedStage || '?'}: ${run.failureReason}`];
  if (run.outcome !== 'promoted') return [`${label} ended ${run.outcome || 'without an outcome'}, a clean run is promoted`];
  return [];
}

import { timestampDate } from '@bufbuild/protobuf/wkt';
import { RunStatus, type ModelVersion, type Run } from '@refit/contracts';

const ms = (n: bigint | number) => `${Number(n)} ms`;
const fmt = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(4));

/** A run's status as a word. */
export function statusWord(s: RunStatus): string {
  return RunStatus[s]?.toLowerCase() ?? 'unknown';
}

/** Wall-clock time from the run's creation to its last stage, in ms. */
export function runDurationMs(run: Run): number {
  const start = run.createdAt ? timestampDate(run.createdAt).getTime() : 0;
  const last = run.stages.at(-1)?.finishedAt;
  return last ? timestampDate(last).getTime() - start : 0;
}

/** The readable summary of a run: stages with durations, metrics side by side, the decision and why. */
export function formatRun(run: Run): string {
  const lines: string[] = [];
  lines.push(`run ${run.runId}  pipeline ${run.pipeline} (spec v${run.specVersion})  ${statusWord(run.status)}${run.outcome ? ` → ${run.outcome}` : ''}`);
  lines.push(`  trigger: ${run.triggerKind}${run.reason ? ` — ${run.reason}` : ''}`);
  if (run.stages.length > 0) {
    lines.push('  stages:');
    for (const s of run.stages) {
      const wall = s.startedAt && s.finishedAt ? timestampDate(s.finishedAt).getTime() - timestampDate(s.startedAt).getTime() : Number(s.computeMs);
      lines.push(`    ${s.stage.padEnd(10)} ${s.status.padEnd(6)} compute ${ms(s.computeMs).padStart(8)}  ${s.detail}${wall > Number(s.computeMs) + 5 ? ` (wall ${wall} ms)` : ''}`);
    }
    const compute = run.stages.reduce((a, s) => a + Number(s.computeMs), 0);
    const total = runDurationMs(run);
    lines.push(`    total ${total} ms: stages' compute ${compute} ms, orchestration ${Math.max(0, total - compute)} ms`);
  }
  const names = [...new Set([...Object.keys(run.candidateMetrics), ...Object.keys(run.championMetrics)])].sort();
  if (names.length > 0) {
    const champion = run.championVersion ? `champion ${run.championVersion}` : 'no champion';
    lines.push(`  metrics (same test rows)      candidate   ${champion}`);
    for (const n of names) lines.push(`    ${n.padEnd(26)} ${fmt(run.candidateMetrics[n]).padStart(9)}   ${fmt(run.championMetrics[n]).padStart(9)}`);
  }
  if (run.decisionReasons.length > 0) {
    lines.push(`  decision: ${decisionWord(run)}${run.modelVersion ? ` (${run.modelVersion})` : ''}`);
    for (const r of run.decisionReasons) lines.push(`    - ${r}`);
  }
  if (run.status === RunStatus.FAILED) lines.push(`  FAILED at ${run.failedStage}: ${run.failureReason}`);
  return lines.join('\n');
}

/**
 * What became of the run's candidate: its outcome once the run ended well, `not promoted (failed
 * at …)` when the run failed after its gates (a rolled-back rollout), `pending` while it runs.
 */
function decisionWord(run: Run): string {
  if (run.outcome) return run.outcome;
  if (run.status === RunStatus.FAILED) return `not promoted (the run failed at ${run.failedStage || 'an unknown stage'})`;
  return 'pending';
}

/** One line per model version. */
export function formatModels(models: ModelVersion[]): string {
  if (models.length === 0) return 'no model versions yet';
  return models
    .map((m) => {
      const when = m.createdAt ? timestampDate(m.createdAt).toISOString() : '';
      const aliases = m.aliases.length ? ` [${m.aliases.join(', ')}]` : '';
      const metrics = Object.entries(m.metrics).filter(([k]) => ['accuracy', 'auc', 'logLoss', 'rmse', 'mae', 'r2'].includes(k)).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
      return `${m.version.padEnd(5)}${aliases.padEnd(22)} run ${m.runId}  ${when}  ${metrics}  snapshot ${m.lineage?.snapshotSha256.slice(0, 12) ?? ''}`;
    })
    .join('\n');
}

import { toJson } from '@bufbuild/protobuf';
import { RolloutSchema, type Rollout } from '@refit/contracts';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';

/** A rollout in a few readable lines: strategy, versions, step and weight, the last analysis. */
export function formatRollout(r: Rollout): string {
  const steps = r.steps.length > 0 ? ` of [${r.steps.join(', ')}]` : '';
  const lines = [
    `${r.pipeline}: ${r.strategy} of ${r.candidateVersion} against champion ${r.championVersion} (run ${r.runId}): ${r.status}`,
    `  step ${r.step + 1}${steps}, candidate weight ${r.weight}%, step started ${new Date(Number(r.stepStartedAtMs)).toISOString()}`,
  ];
  if (r.lastReason) lines.push(`  last analysis: ${r.lastReason}`);
  return lines.join('\n');
}

const print = (io: Io, r: Rollout | undefined): void => {
  if (!r) return;
  io.out(io.json ? JSON.stringify(toJson(RolloutSchema, r, { alwaysEmitImplicit: true }), null, 2) : formatRollout(r));
};

/** `refit rollout status <pipeline>`: the rollout with its last analysis. */
export async function rolloutStatus(c: Clients, io: Io, pipeline: string): Promise<void> {
  print(io, (await c.deployer.getRollout({ pipeline })).rollout);
}

/** `refit rollout promote|abort <pipeline> --reason <why>`: a manual decision on the rollout. */
export async function rolloutDecide(c: Clients, io: Io, pipeline: string, decision: 'promote' | 'abort', reason: string): Promise<void> {
  const req = { pipeline, reason };
  print(io, (decision === 'promote' ? await c.deployer.promoteRollout(req) : await c.deployer.abortRollout(req)).rollout);
}

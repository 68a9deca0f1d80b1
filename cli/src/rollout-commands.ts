import { toJson } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { RolloutSchema, type Rollout } from '@refit/contracts';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';
import type { CliContext } from './context.js';

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

/** `refit rollout status|promote|abort <pipeline>`: a progressive rollout, and manual decisions on it. */
export function registerRolloutCommands(program: Command, ctx: CliContext): void {
  const rollout = program.command('rollout').description('progressive delivery (shadow, canary, A/B): status, promote or abort');
  rollout
    .command('status')
    .argument('<pipeline>')
    .description('the rollout: strategy, step, weight and the last analysis with its numbers')
    .action(ctx.action(async (c: Clients, io: Io, p: string) => print(io, (await c.deployer.getRollout({ pipeline: p })).rollout)));
  for (const [name, what] of [
    ['promote', 'make the candidate the champion now (recorded with who and why)'],
    ['abort', 'roll the candidate back now: weight 0, the champion keeps serving, the run fails (recorded)'],
  ] as const) {
    rollout
      .command(name)
      .argument('<pipeline>')
      .requiredOption('--reason <why>', 'why (recorded in the ledger, with who: the identity of your credential)')
      .description(`${what}; needs the admin role`)
      .action(
        ctx.action(async (c: Clients, io: Io, p: string, opts: { reason: string }) => {
          const req = { pipeline: p, reason: opts.reason };
          print(io, (name === 'promote' ? await c.deployer.promoteRollout(req) : await c.deployer.abortRollout(req)).rollout);
        }),
      );
  }
}

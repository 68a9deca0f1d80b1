import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `refit rollout status|promote|abort <pipeline>`: a progressive rollout, and manual decisions on it. */
export function registerRolloutCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../rollout-commands.js'));
  const rollout = program.command('rollout').description('progressive delivery (shadow, canary, A/B): status, promote or abort');
  rollout
    .command('status')
    .argument('<pipeline>')
    .description('the rollout: strategy, step, weight and the last analysis with its numbers')
    .action(act((m, c, io, p: string) => m.rolloutStatus(c, io, p)));
  for (const [name, what] of [
    ['promote', 'make the candidate the champion now (recorded with who and why)'],
    ['abort', 'roll the candidate back now: weight 0, the champion keeps serving, the run fails (recorded)'],
  ] as const) {
    rollout
      .command(name)
      .argument('<pipeline>')
      .requiredOption('--reason <why>', 'why (recorded in the ledger, with who: the identity of your credential)')
      .description(`${what}; needs the admin role`)
      .action(act((m, c, io, p: string, opts: { reason: string }) => m.rolloutDecide(c, io, p, name, opts.reason)));
  }
}

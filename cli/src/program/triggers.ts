import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** The `triggers` command group. */
export function registerTriggerCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../trigger-commands.js'));
  const triggers = program.command('triggers').description('trigger policies and their decisions');
  triggers
    .command('explain')
    .argument('<pipeline>')
    .option('-n, --limit <count>', 'most decisions to list', '20')
    .description('why the last run started, each policy now, and every decision with its evidence')
    .action(act((m, c, io, p: string, opts: { limit: string }) => m.triggersExplain(c, io, p, Number(opts.limit))));
}

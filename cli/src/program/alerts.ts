import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** The `alerts` command group. */
export function registerAlertCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../alert-commands.js'));
  const alerts = program.command('alerts').description('alerts (failed runs, quarantined batches, drift and performance triggers, blocked promotions, rollbacks) and their webhook deliveries');
  alerts
    .command('list')
    .argument('<pipeline>')
    .option('-n, --limit <count>', 'most alerts to list', '20')
    .description('the latest alerts with the state of each webhook delivery')
    .action(act((m, c, io, p: string, opts: { limit: string }) => m.alertsList(c, io, p, Number(opts.limit))));
}

import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** Registers `refit report`. */
export function registerReportCommand(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../report-command.js'));
  program
    .command('report')
    .argument('<run>', 'the run id')
    .requiredOption('-o, --output <file>', 'the HTML file to write')
    .description("one self-contained HTML file with the run's evaluation (curves, gates), drift and decision; opens with no network")
    .action(act((m, c, io, runId: string, opts: { output: string }) => m.runReport(c, io, runId, opts.output)));
}

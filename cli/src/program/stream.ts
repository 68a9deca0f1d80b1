import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `refit stream status <pipeline>`: a stream-fed pipeline's intake and its online learner. */
export function registerStreamCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../stream-commands.js'));
  const stream = program.command('stream').description('pipelines fed by a stream (data.source.stream) and their online learner');
  stream
    .command('status')
    .argument('<pipeline>')
    .description('rows/s, labels/s, lag, the learner next to the champion (prequential), updates, the last replacement or reset and why')
    .action(act((m, c, io, p: string) => m.streamStatus(c, io, p)));
}

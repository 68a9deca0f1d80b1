import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** Commands about what is served: feedback. */
export function registerServingCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../serving-commands.js'));
  program
    .command('feedback')
    .argument('<pipeline>')
    .requiredOption('-i, --input <labels.jsonl>', 'one {"predictionId": "...", "label": 0|1} per line')
    .description('send the true labels of earlier predictions (feeds live metrics and performance triggers)')
    .action(act((m, c, io, p: string, opts: { input: string }) => m.sendFeedback(c, io, p, opts.input)));
}

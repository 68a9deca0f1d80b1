import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** pipeline, trigger, runs, models and predict commands (their bodies: commands.ts). */
export function registerCoreCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../commands.js'));
  const pipeline = program.command('pipeline').description('pipelines and their specs');
  pipeline
    .command('apply')
    .description('create or update a pipeline from its YAML spec')
    .requiredOption('-f, --file <spec.yaml>', 'the spec file')
    .action(act((m, c, io, opts: { file: string }) => m.pipelineApply(c, io, opts.file)));
  pipeline.command('list').description('list pipelines').action(act((m, c, io) => m.pipelineList(c, io)));

  program
    .command('trigger')
    .argument('<pipeline>')
    .option('-r, --reason <text>', 'why (recorded with the run)')
    .description('start a retraining run now')
    .action(act((m, c, io, p: string, opts: { reason?: string }) => m.trigger(c, io, p, opts.reason)));

  const runs = program.command('runs').description('retraining runs');
  runs
    .command('list')
    .option('-p, --pipeline <name>')
    .action(act((m, c, io, opts: { pipeline?: string }) => m.runsList(c, io, opts.pipeline)));
  runs.command('show').argument('<run>').action(act((m, c, io, id: string) => m.runsShow(c, io, id)));
  runs
    .command('wait')
    .argument('<run>')
    .option('-t, --timeout <seconds>', 'give up waiting after this long', '600')
    .action(act((m, c, io, id: string, opts: { timeout: string }) => m.runsWait(c, io, id, Number(opts.timeout) * 1000)));
  runs
    .command('cancel')
    .argument('<run>')
    .option('-r, --reason <text>', 'why (recorded with the run)')
    .description('stop a running run (training stops within an epoch)')
    .action(act((m, c, io, id: string, opts: { reason?: string }) => m.runsCancel(c, io, id, opts.reason)));

  const models = program.command('models').description('registered model versions');
  models.command('list').argument('<pipeline>').action(act((m, c, io, p: string) => m.modelsList(c, io, p)));

  program
    .command('predict')
    .argument('<pipeline>')
    .requiredOption('-i, --input <rows.jsonl>', 'rows of raw features, one JSON object per line')
    .description('score rows with the serving model')
    .action(act((m, c, io, p: string, opts: { input: string }) => m.predict(c, io, p, opts.input)));
}

import { Command, Option } from 'commander';
import { isRefitError } from '@refit/platform';
import { connect } from './clients.js';
import * as cmd from './commands.js';

const program = new Command('refit')
  .description('Refit: keep machine-learning models current in production')
  .addOption(new Option('--json', 'machine-readable output'))
  .showHelpAfterError();

const io = (): cmd.Io => {
  const json = Boolean(program.opts().json);
  return { json, progress: !json && process.stderr.isTTY === true, out: (s) => console.log(s), err: (s) => console.error(s) };
};
const run = (fn: (c: ReturnType<typeof connect>, io: cmd.Io) => Promise<unknown>) => async () => {
  await fn(connect(), io());
};

const pipeline = program.command('pipeline').description('pipelines and their specs');
pipeline.command('apply').description('create or update a pipeline from its YAML spec').requiredOption('-f, --file <spec.yaml>', 'the spec file')
  .action((opts: { file: string }) => run((c, o) => cmd.pipelineApply(c, o, opts.file))());
pipeline.command('list').description('list pipelines').action(run((c, o) => cmd.pipelineList(c, o)));

const data = program.command('data').description('push and inspect data');
data.command('push').argument('<pipeline>').argument('<file>', 'a CSV file').description('upload a CSV batch (validated; bad rows quarantined)')
  .action((p: string, f: string) => run((c, o) => cmd.dataPush(c, o, p, f))());
data.command('quarantine').argument('<pipeline>').option('--batch <id>').description('list quarantined rows and why')
  .action((p: string, opts: { batch?: string }) => run((c, o) => cmd.dataQuarantine(c, o, p, opts.batch))());

program.command('trigger').argument('<pipeline>').option('-r, --reason <text>', 'why (recorded with the run)').description('start a retraining run now')
  .action((p: string, opts: { reason?: string }) => run((c, o) => cmd.trigger(c, o, p, opts.reason))());

const runs = program.command('runs').description('retraining runs');
runs.command('list').option('-p, --pipeline <name>').action((opts: { pipeline?: string }) => run((c, o) => cmd.runsList(c, o, opts.pipeline))());
runs.command('show').argument('<run>').action((id: string) => run((c, o) => cmd.runsShow(c, o, id))());
runs.command('wait').argument('<run>').option('-t, --timeout <seconds>', 'give up waiting after this long', '600')
  .action((id: string, opts: { timeout: string }) => run((c, o) => cmd.runsWait(c, o, id, Number(opts.timeout) * 1000))());

const models = program.command('models').description('registered model versions');
models.command('list').argument('<pipeline>').action((p: string) => run((c, o) => cmd.modelsList(c, o, p))());

program.command('predict').argument('<pipeline>').requiredOption('-i, --input <rows.jsonl>', 'rows of raw features, one JSON object per line')
  .description('score rows with the serving model').action((p: string, opts: { input: string }) => run((c, o) => cmd.predict(c, o, p, opts.input))());

program.parseAsync().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    const message = isRefitError(err) ? err.message : err instanceof Error ? err.message : String(err);
    if (program.opts().json) console.log(JSON.stringify({ error: { kind: isRefitError(err) ? err.kind : 'internal', message } }));
    console.error(`refit: ${message}`);
    process.exit(isRefitError(err) && err.kind === 'invalid_input' ? 2 : 1);
  },
);

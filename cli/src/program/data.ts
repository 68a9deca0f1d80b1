import { Option, type Command } from 'commander';
import type { DataImportOptions } from '../data-commands.js';
import type { CliContext } from '../context.js';

/** `refit data …` commands. */
export function registerDataCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../data-commands.js'));
  const data = program.command('data').description('push, import and inspect data');
  data
    .command('push')
    .argument('<pipeline>')
    .argument('<file>', 'a CSV or JSON-lines file')
    .option('--format <csv|jsonl>', 'default: from the extension (.jsonl → jsonl), else csv')
    .option('--fixes <batch>', 'this file re-submits fixed quarantined rows of that batch')
    .description('upload a batch (validated; bad rows quarantined, the batch judged against the pinned schema)')
    .action(act((m, c, io, p: string, f: string, opts: { format?: string; fixes?: string }) => m.dataPush(c, io, p, f, opts)));
  data
    .command('import')
    .argument('<pipeline>')
    .option('--from <s3://bucket/key>', 'an S3 object (CSV or JSON lines) under a declared S3 source')
    .option('--format <csv|jsonl>', 'for --from; default from the key')
    .option('--source <connection>', 'a Postgres connection declared in the ingestion service (REFIT_IMPORT_SOURCES)')
    .option('--table <name>', 'a table declared for that connection (schema.table)')
    .option('--query <name>', 'or the name of a query declared for it')
    .option('--watermark <column>', 'incremental: only rows past the last value taken')
    .addOption(new Option('--pg-url <url>').hideHelp())
    .description('ingest from a declared S3 or Postgres source, validated like a push')
    .action(act((m, c, io, p: string, opts: DataImportOptions) => m.dataImport(c, io, p, opts)));
  data
    .command('quarantine')
    .argument('<pipeline>')
    .option('--batch <id>')
    .option('--export <file>', 'write the batch’s quarantined rows to a file to fix and push back with --fixes')
    .option('--all', 'include rows already fixed')
    .description('list quarantined rows and why')
    .action(act((m, c, io, p: string, opts: { batch?: string; export?: string; all?: boolean }) => m.dataQuarantine(c, io, p, opts.batch, opts)));
  data
    .command('infer')
    .argument('<file>', 'a CSV or JSON-lines file')
    .option('--rows <n>', 'rows to read', '10000')
    .description('print a schema inferred from the first rows of a file (types, nullability, categories)')
    .action(act((m, _c, io, f: string, opts: { rows: string }) => m.dataInfer(io, f, Number(opts.rows))));
  data
    .command('schema')
    .argument('<pipeline>')
    .description('show the schema batches are validated against: declared, or inferred from the first accepted batch and pinned')
    .action(act((m, c, io, p: string) => m.dataSchema(c, io, p)));
  data.command('batches').argument('<pipeline>').description('list batches with their status and problems').action(act((m, c, io, p: string) => m.dataBatches(c, io, p)));
}

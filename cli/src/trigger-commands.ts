import { timestampDate } from '@bufbuild/protobuf/wkt';
import { toJson } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { ExplainTriggersResponseSchema } from '@refit/contracts';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';
import type { CliContext } from './context.js';

/** `refit triggers explain <pipeline>`: why the last run started and why nothing fired since. */
export async function triggersExplain(c: Clients, io: Io, pipeline: string, limit: number): Promise<void> {
  const r = await c.trigger.explainTriggers({ pipeline, limit });
  const lines = [`triggers of ${pipeline}:`, ...r.summary.map((s) => `  ${s}`)];
  if (r.decisions.length > 0) {
    lines.push('decisions (newest first):');
    for (const d of r.decisions) {
      const when = d.createdAt ? timestampDate(d.createdAt).toISOString() : '';
      lines.push(`  ${when}  ${d.policy.padEnd(8)} ${(d.fired ? d.action : 'no').padEnd(8)} ${d.runId ? `${d.runId}  ` : ''}${d.reason}`);
      if (d.repeats > 0) {
        const last = d.lastRepeatedAt ? timestampDate(d.lastRepeatedAt).toISOString() : '';
        lines.push(`      … and ${d.repeats} more time${d.repeats > 1 ? 's' : ''} with the same outcome, the last at ${last}${d.lastReason && d.lastReason !== d.reason ? `: ${d.lastReason}` : ''}`);
      }
    }
  }
  io.out(io.json ? JSON.stringify(toJson(ExplainTriggersResponseSchema, r, { alwaysEmitImplicit: true }), null, 2) : lines.join('\n'));
}

/** The `triggers` command group. */
export function registerTriggerCommands(program: Command, ctx: CliContext): void {
  const triggers = program.command('triggers').description('trigger policies and their decisions');
  triggers
    .command('explain')
    .argument('<pipeline>')
    .option('-n, --limit <count>', 'most decisions to list', '20')
    .description('why the last run started, each policy now, and every decision with its evidence')
    .action(ctx.action((c, io, p: string, opts: { limit: string }) => triggersExplain(c, io, p, Number(opts.limit))));
}

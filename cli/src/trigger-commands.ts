import { timestampDate } from '@bufbuild/protobuf/wkt';
import { toJson } from '@bufbuild/protobuf';
import { ExplainTriggersResponseSchema } from '@refit/contracts';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';

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

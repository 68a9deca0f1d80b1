import { toJson } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { ListAlertsResponseSchema, type Alert, type AlertDelivery } from '@refit/contracts';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';

/** One delivery in a few words: `ok delivered (1 attempt)`, `pager pending (2/8, HTTP 500, next 12:00:03Z)`. */
export function formatDelivery(d: AlertDelivery): string {
  const tries = d.status === 'delivered' ? `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}` : `${d.attempts}/${d.maxAttempts}`;
  const last = d.status !== 'delivered' && d.lastError ? `, ${d.lastError}` : '';
  const next = d.status === 'pending' && d.nextAttemptAt ? `, next ${timestampDate(d.nextAttemptAt).toISOString()}` : '';
  return `${d.webhook} ${d.status} (${tries}${last}${next})`;
}

/** The alerts of a pipeline, newest first: when, kind, run, the sentence, and where each went. */
export function formatAlerts(pipeline: string, alerts: Alert[]): string {
  if (alerts.length === 0) return `no alerts for ${pipeline}`;
  const lines = [`alerts of ${pipeline} (newest first):`];
  for (const a of alerts) {
    const when = a.createdAt ? timestampDate(a.createdAt).toISOString() : '';
    lines.push(`  ${when}  ${a.kind.padEnd(19)} ${a.runId ? `${a.runId}  ` : ''}${a.summary}`);
    lines.push(`    ${a.deliveries.length > 0 ? `webhooks: ${a.deliveries.map(formatDelivery).join('; ')}` : 'no webhook (published on alert.raised only)'}`);
  }
  return lines.join('\n');
}

/** `refit alerts list <pipeline>` */
export async function alertsList(c: Clients, io: Io, pipeline: string, limit: number): Promise<void> {
  const r = await c.trigger.listAlerts({ pipeline, limit });
  io.out(io.json ? JSON.stringify(toJson(ListAlertsResponseSchema, r, { alwaysEmitImplicit: true }), null, 2) : formatAlerts(pipeline, r.alerts));
}

import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { AlertSchema } from '@refit/contracts';
import type pg from 'pg';
import { deliveriesOf, listAlerts, type DeliveryRow } from './alert-store.js';

const ts = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

function toDelivery(d: DeliveryRow) {
  return {
    webhook: d.webhook,
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    maxAttempts: d.max_attempts,
    lastHttpStatus: d.last_http_status ?? 0,
    lastError: d.last_error ?? '',
    nextAttemptAt: d.status === 'pending' ? ts(d.next_attempt_at) : undefined,
    deliveredAt: ts(d.delivered_at),
  };
}

/** The latest alerts of a pipeline, newest first, each with its webhook deliveries (wire form). */
export async function listAlertsWithDeliveries(db: pg.Pool, pipeline: string, limit: number): Promise<Array<MessageInitShape<typeof AlertSchema>>> {
  const alerts = await listAlerts(db, pipeline, limit);
  const deliveries = await deliveriesOf(db, alerts.map((a) => a.id));
  return alerts.map((a) => ({
    alertId: a.id,
    pipeline: a.pipeline,
    kind: a.kind,
    runId: a.run_id ?? '',
    summary: a.summary,
    detailsJson: JSON.stringify(a.details),
    createdAt: timestampFromDate(a.created_at),
    deliveries: deliveries.filter((d) => d.alert_id === a.id).map(toDelivery),
  }));
}

/**
 * The metrics every service has: gRPC calls (server and client), event consumers (deliveries,
 * acks, naks, redeliveries, dead letters, handling time, lag), the outbox (depth, publishing) and
 * the Postgres pool. Lag and depth are read when scraped, each bounded by a short timeout.
 */
import type { JetStreamManager, NatsConnection } from 'nats';
import type pg from 'pg';
import type { CallObserver, DeliveryObserver, RelayObserver } from './observers.js';
import { within, type ServiceMetrics } from './registry.js';

/** How long a scrape waits for JetStream or Postgres before leaving a value out. */
const SCRAPE_TIMEOUT_MS = 1000;

/** `/refit.trigger.v1.TriggerService/GetRun` → the service and method labels. */
export function methodLabels(path: string): { grpc_service: string; grpc_method: string } {
  const [, service = '', method = ''] = path.split('/');
  return { grpc_service: service, grpc_method: method };
}

/** gRPC status names, as in grpc-go's and grpc-java's metrics. */
const CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const codeName = (code: number): string => CODES[code] ?? 'UNKNOWN';

/** Observer of the calls of one side (`server` or `client`). */
function callObserver(metrics: ServiceMetrics, side: 'server' | 'client'): CallObserver {
  const handled = metrics.counter({
    name: `refit_grpc_${side}_handled_total`,
    help: `gRPC calls ${side === 'server' ? 'served' : 'made'}, by method and status code`,
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
  });
  const seconds = metrics.histogram({
    name: `refit_grpc_${side}_handling_seconds`,
    help: `Duration of gRPC calls ${side === 'server' ? 'served' : 'made'}, by method`,
    labelNames: ['grpc_service', 'grpc_method'],
  });
  return (method, code, s) => {
    const labels = methodLabels(method);
    handled.inc({ ...labels, grpc_code: codeName(code) });
    seconds.observe(labels, s);
  };
}

/** The platform's metrics of one runtime, and the observers the plumbing reports to. */
export interface PlatformMetrics {
  readonly server: CallObserver;
  readonly client: CallObserver;
  /** The observer of one durable consumer; its lag is read from JetStream when scraped. */
  consumer(stream: string, durable: string): DeliveryObserver;
  readonly relay: RelayObserver;
}

/** Defines the platform metrics in `metrics`; `pool` and `nc` are read when scraped. */
export function createPlatformMetrics(metrics: ServiceMetrics, deps: { pool: pg.Pool; nc: NatsConnection }): PlatformMetrics {
  const { pool, nc } = deps;
  const consumerLabel = ['consumer'] as const;
  const deliveries = metrics.counter({ name: 'refit_consumer_deliveries_total', help: 'Events delivered to a consumer\'s handler', labelNames: consumerLabel });
  const redeliveries = metrics.counter({ name: 'refit_consumer_redeliveries_total', help: 'Events delivered again (after a failure, a crash or a hand-back)', labelNames: consumerLabel });
  const acks = metrics.counter({ name: 'refit_consumer_acks_total', help: 'Events acknowledged', labelNames: consumerLabel });
  const naks = metrics.counter({ name: 'refit_consumer_naks_total', help: 'Events handed back for a retry', labelNames: consumerLabel });
  const deadLetters = metrics.counter({ name: 'refit_consumer_dead_letters_total', help: 'Events given up and dead-lettered', labelNames: consumerLabel });
  const handling = metrics.histogram({ name: 'refit_consumer_handling_seconds', help: 'Time from the delivery of an event to its outcome', labelNames: consumerLabel });
  const watched = new Map<string, { stream: string; durable: string }>();
  let jsm: Promise<JetStreamManager> | undefined;
  metrics.gauge({
    name: 'refit_consumer_lag',
    help: 'Events of the stream the consumer has not been delivered yet (JetStream num_pending)',
    labelNames: consumerLabel,
    async collect(g) {
      if (nc.isClosed()) return;
      jsm ??= nc.jetstreamManager();
      const m = await within(jsm, SCRAPE_TIMEOUT_MS).catch(() => undefined);
      if (!m) {
        jsm = undefined;
        return;
      }
      await Promise.all(
        [...watched.values()].map(async ({ stream, durable }) => {
          const info = await within(m.consumers.info(stream, durable), SCRAPE_TIMEOUT_MS).catch(() => undefined);
          if (info) g.set({ consumer: durable }, info.num_pending);
        }),
      );
    },
  });

  metrics.gauge({
    name: 'refit_outbox_depth',
    help: 'Outbox rows committed and not yet published',
    async collect(g) {
      const res = await within(pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'), SCRAPE_TIMEOUT_MS).catch(() => undefined);
      if (res) g.set(Number(res.rows[0].n));
    },
  });
  const published = metrics.counter({ name: 'refit_outbox_published_total', help: 'Events published from the outbox' });
  const publishFailures = metrics.counter({ name: 'refit_outbox_publish_failures_total', help: 'Outbox rows a publish round failed to publish (retried or moved aside)' });
  const publishSeconds = metrics.histogram({ name: 'refit_outbox_publish_seconds', help: 'Duration of one round of the outbox relay that published something' });

  const poolGauge = (name: string, help: string, read: () => number): void => {
    metrics.gauge({ name, help, collect: (g) => g.set(read()) });
  };
  poolGauge('refit_pg_pool_connections', 'Postgres connections open (idle and in use)', () => pool.totalCount);
  poolGauge('refit_pg_pool_idle', 'Postgres connections open and idle', () => pool.idleCount);
  poolGauge('refit_pg_pool_waiting', 'Queries waiting for a Postgres connection', () => pool.waitingCount);

  return {
    server: callObserver(metrics, 'server'),
    client: callObserver(metrics, 'client'),
    consumer(stream, durable) {
      watched.set(durable, { stream, durable });
      const l = { consumer: durable };
      return {
        delivered(redelivery) {
          deliveries.inc(l);
          if (redelivery) redeliveries.inc(l);
        },
        acked: () => acks.inc(l),
        naked: () => naks.inc(l),
        deadLettered: () => deadLetters.inc(l),
        handled: (s) => handling.observe(l, s),
      };
    },
    relay({ published: n, failed, seconds }) {
      if (n > 0) published.inc(n);
      if (failed > 0) publishFailures.inc(failed);
      if (n + failed > 0) publishSeconds.observe(seconds);
    },
  };
}

/** The HTTP endpoint Prometheus scrapes: GET /metrics, 404 for anything else. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServiceMetrics } from './registry.js';

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops listening and closes idle connections. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startMetricsServer}. */
export type MetricsServerOptions = {
  metrics: ServiceMetrics;
  /** Interface to listen on (the gRPC host). */
  host: string;
  /** Port (0 picks a free one). */
  port: number;
  logger: Logger;
};

/** Starts answering `GET /metrics` with the exposition format of `metrics`. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    opts.metrics.expose().then(
      (text) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        opts.logger.warn({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  // Scrapes are short: an idle keep-alive connection must not hold close() up.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UnavailableError(`cannot listen for metrics on ${opts.host}:${opts.port}: ${err.message}`, { cause: err })));
    server.listen(opts.port, opts.host, () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

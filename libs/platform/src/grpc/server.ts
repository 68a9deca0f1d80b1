import type { DescFile, DescService } from '@bufbuild/protobuf';
import { Server, ServerCredentials, type ServerOptions } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Authenticator } from '../auth/authenticator.js';
import { UnavailableError } from '../errors.js';
import type { CallObserver } from '../metrics/observers.js';
import type { Tracing } from '../tracing/tracing.js';
import { toServiceDefinition } from './codec.js';
import { toGrpcImplementation, type ServiceHandlers } from './handlers.js';
import { createReflectionPackage } from './reflection.js';
import type { GrpcLogger } from './types.js';

/** Options of {@link createGrpcServer}. */
export type GrpcServerOptions = {
  /** The service's short name (`trigger`…), used in logs and internal-error messages. */
  service: string;
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Port to listen on; 0 picks a free one (read it back from `GrpcServer.port`). */
  port: number;
  logger: GrpcLogger;
  /** What to serve, each built with `implement(Service, handlers)`. */
  services: ReadonlyArray<{ service: DescService; handlers: ServiceHandlers<DescService> }>;
  /** File descriptors reflection describes (pass `refitFiles`); imports are added automatically. */
  files: readonly DescFile[];
  /** grpc-js server options (message size limits, keepalive…). Default: grpc-js defaults. */
  serverOptions?: ServerOptions;
  /** Transport security (see auth/tls.ts `serverCredentials`). Default: plaintext. */
  credentials?: ServerCredentials;
  /** Authenticates and authorises every call of the served services. Default: authentication off. */
  auth?: Authenticator;
  /** Also answer health checks, and nothing else, in plaintext on this port (0: don't). Default 0. */
  healthPort?: number;
  /** Most characters of a request's string field (REFIT_MAX_TEXT_CHARS; see proto-checks.ts). Default 4096. */
  maxTextChars?: number;
  /** Traces every call (a SERVER span, child of the caller's `traceparent`). Default: no spans. */
  tracing?: Tracing;
  /** Told the method, status code and seconds of every finished call (metrics). Default: none. */
  observe?: CallObserver;
};

/** A listening gRPC server with health and reflection. */
export type GrpcServer = {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The plaintext health-only port, when one was asked for. */
  readonly healthPort?: number;
  /** `host:port` to hand to clients. */
  readonly address: string;
  /** Sets the health of the server and every served service; `false` while shutting down. */
  setServing(serving: boolean): void;
  /**
   * Reports NOT_SERVING, lets in-flight calls finish for up to `graceMs`, then cancels the rest
   * (handlers see their `signal` abort). Idempotent: later calls return the same promise.
   */
  stop(graceMs: number): Promise<void>;
  /** `stop(5_000)`. */
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Starts a gRPC server for protobuf-es services. Every server also serves the standard health
 * service (`''` and each service's full name start SERVING) and reflection (v1 and v1alpha)
 * built from `files`, listing only the services actually served plus `grpc.health.v1.Health`.
 */
export async function createGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const host = opts.host ?? '127.0.0.1';
  const env = { service: opts.service, logger: opts.logger, auth: opts.auth, observe: opts.observe, tracing: opts.tracing };
  const server = new Server(opts.serverOptions);
  const names = opts.services.map((s) => s.service.typeName);
  for (const impl of opts.services) {
    server.addService(toServiceDefinition(impl.service, { markDecodeFailures: true, maxTextChars: opts.maxTextChars }), toGrpcImplementation(impl, env));
  }
  const health = new HealthImplementation(Object.fromEntries(['', ...names].map((n) => [n, 'SERVING' satisfies ServingStatus])));
  health.addToServer(server);
  // The served services' own files are added so reflection never lists a service it cannot describe.
  const files = [...opts.files, ...opts.services.map((s) => s.service.file)];
  new ReflectionService(createReflectionPackage(files), { services: [...names, 'grpc.health.v1.Health'] }).addToServer(server);

  const hostPort = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const bind = (s: Server, p: number, credentials: ServerCredentials): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      s.bindAsync(`${hostPort}:${p}`, credentials, (err, bound) => {
        if (err) reject(new UnavailableError(`${opts.service}: cannot listen on ${hostPort}:${p}: ${err.message}`, { cause: err }));
        else resolve(bound);
      });
    });
  const port = await bind(server, opts.port, opts.credentials ?? ServerCredentials.createInsecure());
  let healthServer: Server | undefined;
  let healthPort: number | undefined;
  if (opts.healthPort) {
    healthServer = new Server();
    health.addToServer(healthServer);
    healthPort = await bind(healthServer, opts.healthPort, ServerCredentials.createInsecure());
  }
  const address = `${hostPort}:${port}`;
  opts.logger.debug({ address, services: names }, 'gRPC server bound');

  const setServing = (serving: boolean): void => {
    const s: ServingStatus = serving ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', ...names]) health.setStatus(name, s);
  };
  let stopped: Promise<void> | undefined;
  const stop = (graceMs: number): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      setServing(false);
      const timer = setTimeout(() => {
        opts.logger.warn({ address, graceMs }, 'gRPC calls still running after the grace period: cancelling them');
        server.forceShutdown();
        healthServer?.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        healthServer?.forceShutdown();
        resolve();
      });
    });
    return stopped;
  };
  return { port, healthPort, address, setServing, stop, [Symbol.asyncDispose]: () => stop(5_000) };
}

import type { DescFile, DescService } from '@bufbuild/protobuf';
import { Server, ServerCredentials, type ServerOptions } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { UnavailableError } from '../errors.js';
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
};

/** A listening gRPC server with health and reflection. */
export type GrpcServer = {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
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
  const env = { service: opts.service, logger: opts.logger };
  const server = new Server(opts.serverOptions);
  const names = opts.services.map((s) => s.service.typeName);
  for (const impl of opts.services) {
    server.addService(toServiceDefinition(impl.service, { markDecodeFailures: true }), toGrpcImplementation(impl, env));
  }
  const health = new HealthImplementation(Object.fromEntries(['', ...names].map((n) => [n, 'SERVING' satisfies ServingStatus])));
  health.addToServer(server);
  // The served services' own files are added so reflection never lists a service it cannot describe.
  const files = [...opts.files, ...opts.services.map((s) => s.service.file)];
  new ReflectionService(createReflectionPackage(files), { services: [...names, 'grpc.health.v1.Health'] }).addToServer(server);

  const hostPort = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${hostPort}:${opts.port}`, ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new UnavailableError(`${opts.service}: cannot listen on ${hostPort}:${opts.port}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });
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
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return stopped;
  };
  return { port, address, setServing, stop, [Symbol.asyncDispose]: () => stop(5_000) };
}

import type { DescFile, DescService } from '@bufbuild/protobuf';
import { createGrpcServer, createLogger, implement, NotFoundError, type GrpcServer, type ServiceHandlers } from '@refit/platform';

/**
 * A stand-in for another Refit service in a test of one service: a real gRPC server on a free port
 * (or `port`) answering the given methods, every other method NOT_FOUND. The service it stands in for
 * is tested on its own; this one answers only what the test needs (a champion, logged rows…).
 */
export async function startStandIn<S extends DescService>(
  service: S,
  handlers: Partial<ServiceHandlers<S>>,
  opts: { files: readonly DescFile[]; port?: number; name?: string },
): Promise<GrpcServer> {
  const name = opts.name ?? `stand-in-${service.name}`;
  const all = {
    ...Object.fromEntries(service.methods.map((m) => [m.localName, () => Promise.reject(new NotFoundError(`${service.name}.${m.name} is not in this stand-in`))])),
    ...handlers,
  } as ServiceHandlers<S>;
  return createGrpcServer({ service: name, port: opts.port ?? 0, logger: createLogger({ service: name, level: 'silent' }), files: opts.files, services: [implement(service, all)] });
}

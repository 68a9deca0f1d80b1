import type { DescService } from '@bufbuild/protobuf';
import { FailedPreconditionError } from '../errors.js';
import type { ServiceHandlers } from './handlers.js';

/**
 * Handlers for every method of a service that fail with FAILED_PRECONDITION: a test spreads its
 * own handlers over them, so adding an RPC to a proto does not break unrelated tests.
 */
export function notImplemented<S extends DescService>(service: S): ServiceHandlers<S> {
  const handlers: Record<string, () => never> = {};
  for (const m of service.methods) {
    handlers[m.localName] = () => {
      throw new FailedPreconditionError(`${service.typeName}/${m.name} is not implemented in this test`);
    };
  }
  return handlers as unknown as ServiceHandlers<S>;
}

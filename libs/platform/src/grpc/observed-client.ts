/**
 * Reports every call of a client to a {@link CallObserver} (metrics), without touching the
 * client itself: each method is wrapped, its promise or its response stream timed to the end.
 */
import { status } from '@grpc/grpc-js';
import type { DescService } from '@bufbuild/protobuf';
import type { CallObserver } from '../metrics/observers.js';
import { methodPath } from './codec.js';
import { grpcCodeOf } from './status.js';

const codeOf = (err: unknown): number => grpcCodeOf(err) ?? status.UNKNOWN;

async function* observedStream(stream: AsyncIterable<unknown>, done: (code: number) => void): AsyncGenerator<unknown> {
  let code: number = status.CANCELLED;
  try {
    for await (const msg of stream) yield msg;
    code = status.OK;
  } catch (err) {
    code = codeOf(err);
    throw err;
  } finally {
    done(code);
  }
}

/** Wraps the methods of `client` (made by `createClient(service, …)`) in place and returns it. */
export function observeClient<C extends object>(client: C, service: DescService, observe: CallObserver): C {
  const methods = client as Record<string, unknown>;
  for (const method of service.methods) {
    const fn = methods[method.localName];
    if (typeof fn !== 'function') continue;
    const path = methodPath(method);
    methods[method.localName] = (...args: unknown[]): unknown => {
      const started = performance.now();
      const done = (code: number): void => observe(path, code, (performance.now() - started) / 1000);
      const out = (fn as (...a: unknown[]) => unknown)(...args);
      if (out instanceof Promise) {
        return out.then(
          (res: unknown) => {
            done(status.OK);
            return res;
          },
          (err: unknown) => {
            done(codeOf(err));
            throw err;
          },
        );
      }
      return observedStream(out as AsyncIterable<unknown>, done);
    };
  }
  return client;
}

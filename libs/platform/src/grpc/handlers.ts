import { randomUUID } from 'node:crypto';
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import {
  status,
  type Deadline,
  type Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerWritableStream,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Readable, Writable } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import { OPEN_AUTHENTICATOR, type Authenticator } from '../auth/authenticator.js';
import { UnavailableError } from '../errors.js';
import type { CallObserver } from '../metrics/observers.js';
import { startServerSpan } from '../tracing/grpc-spans.js';
import type { Tracing } from '../tracing/tracing.js';
import { DecodeFailure, encodeMessage, methodPath, type Encoded } from './codec.js';
import { REQUEST_ID_KEY, toStatus, type GrpcStatus } from './status.js';
import type { CallContext, GrpcLogger } from './types.js';

/** Serves a unary method (an answer it encoded itself comes as {@link Encoded}). */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<MessageInitShape<O> | Encoded<O>> | MessageInitShape<O> | Encoded<O>;

/** Serves a server-streaming method: yield the responses (backpressure is handled for you). */
export type ServerStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => AsyncIterable<MessageInitShape<O>> | Iterable<MessageInitShape<O>>;

/** Serves a client-streaming method: iterate the decoded requests, in order, then answer. */
export type ClientStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** Serves a bidirectional-streaming method. */
export type BidiStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  ctx: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

/** A handler of a method whose kind is not known statically (a service built at run time). */
export type UntypedHandler = (input: never, ctx: CallContext) => unknown;

/** The handler type of one method, derived from its protobuf-es descriptor. */
export type MethodHandler<M> = M extends { methodKind: 'unary'; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? UnaryHandler<I, O>
  : M extends { methodKind: 'server_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? ServerStreamingHandler<I, O>
    : M extends { methodKind: 'client_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? ClientStreamingHandler<I, O>
      : M extends { methodKind: 'bidi_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? BidiStreamingHandler<I, O>
        : UntypedHandler;

/** One handler per method of `S`, keyed by the method's local name (`getRun`, `pushData`…). */
export type ServiceHandlers<S extends DescService> = { [K in keyof S['method']]: MethodHandler<S['method'][K]> };

/** A service paired with its handlers, as `createGrpcServer` takes it. */
export type ServiceImplementation<S extends DescService = DescService> = { service: S; handlers: ServiceHandlers<S> };

/**
 * Pairs a generated service with its handlers, checking at compile time that every method is
 * implemented with the right request and response types.
 */
export function implement<S extends DescService>(service: S, handlers: ServiceHandlers<S>): { service: S; handlers: ServiceHandlers<S> } {
  return { service, handlers };
}

/** What the wrapped handlers need from the server. */
export type HandlerEnv = {
  service: string;
  logger: GrpcLogger;
  /** Authenticates and authorises each call before its handler runs. Default: authentication off. */
  auth?: Authenticator;
  /** Each call runs in a SERVER span, child of the caller's `traceparent`. Default: no spans. */
  tracing?: Tracing;
  /** Told the method, status code and seconds of every finished call (metrics). Default: none. */
  observe?: CallObserver;
};

/**
 * Wraps typed handlers into grpc-js handlers. Throws when a method has no handler or a handler
 * names no method, so a mistake fails at startup rather than on the first call.
 */
export function toGrpcImplementation(impl: { service: DescService; handlers: object }, env: HandlerEnv): UntypedServiceImplementation {
  const { service } = impl;
  const handlers = impl.handlers as Record<string, unknown>;
  const out: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const fn = handlers[method.localName];
    if (typeof fn !== 'function') throw new Error(`${service.typeName}: no handler for ${method.name} (expected a function at "${method.localName}")`);
    out[method.name] = wrap(method, fn as (...args: unknown[]) => unknown, env);
  }
  for (const key of Object.keys(handlers)) {
    if (!(key in service.method)) throw new Error(`${service.typeName}: handler "${key}" matches no method`);
  }
  return out;
}

type AnyFn = (...args: unknown[]) => unknown;
// The part every kind of server call shares (grpc-js does not export its name for it).
type SurfaceCall = {
  cancelled: boolean;
  metadata: Metadata;
  getPeer(): string;
  getDeadline(): Deadline;
  once(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
  getAuthContext?(): { sslPeerCertificate?: PeerCertificate };
};

function wrap(method: DescMethod, fn: AnyFn, env: HandlerEnv): UntypedHandleCall {
  const path = methodPath(method);
  // One answer (unary, client streaming) or a stream of answers (server streaming, bidi); the
  // kinds differ only in where the request comes from. grpc-js hands each kind its own call type,
  // which the request reader below knows (hence the `never` parameter it is called with).
  const answerOne =
    (request: (call: never, signal: AbortSignal) => unknown) =>
    (call: SurfaceCall, callback: (err: GrpcStatus | null, value?: Buffer) => void): void => {
      const c = openCall(call, path, env);
      const run = async (): Promise<Buffer> => {
        const ctx = await c.authorize();
        const res = await fn(request(call as never, ctx.signal), ctx);
        // Encode here rather than in grpc-js so a bad response is logged with the request id.
        return encodeMessage(method.output, res);
      };
      c.within(run).then(
        (bytes) => {
          c.finish(status.OK);
          callback(null, bytes);
        },
        (err: unknown) => callback(c.fail(err)),
      );
    };
  const answerMany =
    (request: (call: never, signal: AbortSignal) => unknown) =>
    (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>): void => {
      const c = openCall(call as SurfaceCall, path, env);
      const run = async (): Promise<void> => {
        const ctx = await c.authorize();
        const responses = fn(request(call as never, ctx.signal), ctx) as AsyncIterable<unknown> | Iterable<unknown>;
        await writeAll(call, responses, method.output, ctx.signal);
      };
      c.within(run).then(
        () => {
          c.finish(status.OK);
          if (!c.ctx.signal.aborted) call.end();
        },
        // call.destroy(err) would leave the client hanging; an 'error' event makes grpc-js send the status.
        (err: unknown) => call.emit('error', c.fail(err)),
      );
    };
  const single = (call: { request: unknown }) => requestOf(call);
  const stream = (call: ServerReadableStream<unknown, unknown>, signal: AbortSignal) => readAll(call, signal);
  switch (method.methodKind) {
    case 'unary':
      return answerOne(single) as UntypedHandleCall;
    case 'server_streaming':
      return answerMany(single) as UntypedHandleCall;
    case 'client_streaming':
      return answerOne(stream) as UntypedHandleCall;
    case 'bidi_streaming':
      return answerMany(stream) as UntypedHandleCall;
  }
}

function requestOf(call: { request: unknown }): unknown {
  if (call.request instanceof DecodeFailure) throw call.request.toError();
  return call.request;
}

type OpenCall = {
  ctx: Omit<CallContext, 'identity'>;
  /** Runs the call's work in its span (when tracing). */
  within<T>(fn: () => T): T;
  /** Establishes who calls and whether it may; the full context for the handler. */
  authorize(): Promise<CallContext>;
  finish(code: status): void;
  fail(err: unknown): GrpcStatus;
};

function openCall(call: SurfaceCall, path: string, env: HandlerEnv): OpenCall {
  const started = performance.now();
  const controller = new AbortController();
  const onCancelled = (): void => controller.abort(new UnavailableError(`${path}: call cancelled (client gone or deadline passed)`));
  call.once('cancelled', onCancelled);
  if (call.cancelled) onCancelled();
  const deadline = call.getDeadline();
  const ctx: Omit<CallContext, 'identity'> = {
    metadata: call.metadata,
    deadline: deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
    signal: controller.signal,
    peer: call.getPeer(),
    method: path,
    requestId: requestIdOf(call),
  };
  const span = startServerSpan(env.tracing, path, call.metadata);
  const finish = (code: status): void => {
    span?.end(code);
    call.off('cancelled', onCancelled);
    const ms = performance.now() - started;
    env.observe?.(path, code, ms / 1000);
    env.logger.debug({ method: path, requestId: ctx.requestId, code: status[code], ms: Math.round(ms * 100) / 100 }, 'gRPC call');
  };
  const auth = env.auth ?? OPEN_AUTHENTICATOR;
  return {
    ctx,
    within: (fn) => (span ? span.within(fn) : fn()),
    async authorize() {
      const identity = await auth.authorize({ method: path, metadata: call.metadata, peerCertificate: auth.enabled ? call.getAuthContext?.().sslPeerCertificate : undefined });
      return { ...ctx, identity };
    },
    finish,
    fail(err) {
      const st = toStatus(err, env.logger, env.service, ctx);
      span?.end(st.code, err);
      finish(st.code);
      return st;
    },
  };
}

function requestIdOf(call: SurfaceCall): string {
  const [id] = call.metadata.get(REQUEST_ID_KEY);
  // Only ids that are safe to echo into logs and error messages.
  return typeof id === 'string' && /^[\w.:-]{1,128}$/.test(id) ? id : randomUUID();
}

/** Writes every response, waiting for 'drain' whenever grpc-js buffers are full. */
async function writeAll(call: Writable, responses: AsyncIterable<unknown> | Iterable<unknown>, schema: DescMessage, signal: AbortSignal): Promise<void> {
  for await (const res of responses) {
    // Leaving the loop runs the handler's `finally` blocks: the client is gone, stop producing.
    if (signal.aborted) return;
    if (!call.write(encodeMessage(schema, res))) await drained(call, signal);
  }
}

function drained(stream: Writable, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    // A cancelled call never drains.
    signal.addEventListener('abort', done);
  });
}

/** The decoded requests of a streaming call; an undecodable one fails the iteration. */
async function* readAll(call: Readable, signal: AbortSignal): AsyncGenerator<unknown> {
  try {
    // Plain `for await` destroys the stream when it ends, which on a bidi call kills the response
    // side before the handler has answered.
    for await (const msg of call.iterator({ destroyOnReturn: false }) as AsyncIterable<unknown>) {
      if (msg instanceof DecodeFailure) throw msg.toError();
      yield msg;
    }
  } catch (err) {
    // grpc-js destroys the stream on cancel; report the cancellation, not a premature close.
    if (signal.aborted) throw signal.reason;
    throw err;
  }
}

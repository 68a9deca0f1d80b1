import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import {
  Client as GrpcJsClient,
  Metadata,
  credentials as grpcCredentials,
  status,
  type CallOptions as GrpcJsCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { UnavailableError } from '../errors.js';
import { startClientSpan, type CallSpan } from '../tracing/grpc-spans.js';
import type { Tracing } from '../tracing/tracing.js';
import { deserializer, methodPath, serializer } from './codec.js';
import { REQUEST_ID_KEY, isServiceError, toRefitError } from './status.js';
import type { CallContext } from './types.js';

/** Per-call options. */
export type CallOptions = {
  /** When to give up. Combined with `timeoutMs` when both are set: the earlier wins. */
  deadline?: Date;
  /** Give up after this long. Default: the client's `timeoutMs` (30,000) when no `deadline` is set. */
  timeoutMs?: number;
  /** Cancels the call (it then fails with an `UnavailableError`, `grpcCode` CANCELLED). */
  signal?: AbortSignal;
  /** Extra metadata (ASCII values). */
  metadata?: Record<string, string>;
};

/** Options of {@link createClient}. */
export type ClientOptions = {
  /** Default insecure (plaintext), as inside the cluster. */
  credentials?: ChannelCredentials;
  /** grpc-js channel options (message size limits, keepalive…). Default: grpc-js defaults. */
  channelOptions?: ChannelOptions;
  /** Timeout of calls that set neither `deadline` nor `timeoutMs`. Default 30,000 ms. */
  timeoutMs?: number;
  /** Traces every call (a CLIENT span, its `traceparent` sent in the metadata). Default: no spans. */
  tracing?: Tracing;
};

/** The client-side signature of one method. */
export type ClientMethod<M> = M extends { methodKind: 'unary'; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? (request: MessageInitShape<I>, opts?: CallOptions) => Promise<MessageShape<O>>
  : M extends { methodKind: 'server_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (request: MessageInitShape<I>, opts?: CallOptions) => AsyncIterable<MessageShape<O>>
    : M extends { methodKind: 'client_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? (requests: AsyncIterable<MessageInitShape<I>> | Iterable<MessageInitShape<I>>, opts?: CallOptions) => Promise<MessageShape<O>>
      : M extends { methodKind: 'bidi_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? (requests: AsyncIterable<MessageInitShape<I>> | Iterable<MessageInitShape<I>>, opts?: CallOptions) => AsyncIterable<MessageShape<O>>
        : never;

/** A typed client: one function per method, keyed by local name (`getRun`, `pushData`…). */
export type Client<S extends DescService> = { [K in keyof S['method']]: ClientMethod<S['method'][K]> };

/** Channel controls that come with every client. */
export type ClientControls = {
  /** Closes the channel; calls in flight fail. */
  close(): void;
  /** Resolves once connected; rejects with an `UnavailableError` after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  /** `close()`, for `using`. */
  [Symbol.dispose](): void;
};

/**
 * Creates a client for `service` at `address` (host:port). Every call carries a deadline (30 s
 * unless told otherwise). Failures are thrown as `RefitError` subclasses (see `toRefitError`), so
 * `isNotFound(e)` works across the wire. Client-streaming calls send with backpressure, so the
 * source is read no faster than the network takes it.
 */
export function createClient<S extends DescService>(service: S, address: string, opts: ClientOptions = {}): Client<S> & ClientControls {
  const channel = new GrpcJsClient(address, opts.credentials ?? grpcCredentials.createInsecure(), opts.channelOptions);
  const defaultTimeoutMs = opts.timeoutMs ?? 30_000;
  const controls: ClientControls = {
    close: () => channel.close(),
    waitForReady: (timeoutMs) =>
      new Promise((resolve, reject) => {
        channel.waitForReady(Date.now() + timeoutMs, (err) => {
          if (err) reject(new UnavailableError(`${service.typeName} at ${address} not ready after ${timeoutMs} ms`, { cause: err }));
          else resolve();
        });
      }),
    [Symbol.dispose]: () => channel.close(),
  };
  const methods: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (method.localName in controls) throw new Error(`${service.typeName}.${method.name} clashes with the client's own "${method.localName}"`);
    methods[method.localName] = clientMethod(channel, method, defaultTimeoutMs, opts.tracing);
  }
  return Object.assign(methods, controls) as Client<S> & ClientControls;
}

/**
 * Options for an outbound call made while serving `ctx`: same deadline, cancelled with it, same
 * request id. Spread and extend as needed: `{ ...callOptionsFrom(ctx), metadata: {...} }`.
 */
export function callOptionsFrom(ctx: CallContext): CallOptions {
  return { deadline: ctx.deadline, signal: ctx.signal, metadata: { [REQUEST_ID_KEY]: ctx.requestId } };
}

type Setup = { metadata: Metadata; options: GrpcJsCallOptions; signal?: AbortSignal };

function setup(opts: CallOptions | undefined, defaultTimeoutMs: number): Setup {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(opts?.metadata ?? {})) metadata.set(k, v);
  let deadline = opts?.deadline?.getTime();
  if (opts?.timeoutMs !== undefined) deadline = Math.min(deadline ?? Infinity, Date.now() + opts.timeoutMs);
  deadline ??= Date.now() + defaultTimeoutMs;
  return { metadata, options: { deadline }, signal: opts?.signal };
}

/** Cancels `call` when `signal` aborts; returns the function that stops listening. */
function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = (): void => call.cancel();
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function clientMethod(channel: GrpcJsClient, method: DescMethod, defaultTimeoutMs: number, tracing: Tracing | undefined): unknown {
  const path = methodPath(method);
  const ended = (span: CallSpan | undefined, err: ServiceError | null): void => span?.end(err ? err.code : status.OK, err ?? undefined);
  const ser = serializer(method.input);
  const deser = deserializer(method.output);
  const fail = (err: ServiceError): Error => toRefitError(err, path);

  const unary = (request: unknown, opts?: CallOptions): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const s = setup(opts, defaultTimeoutMs);
      const span = startClientSpan(tracing, path, s.metadata);
      let release = (): void => {};
      const call = channel.makeUnaryRequest(path, ser, deser, request, s.metadata, s.options, (err, res) => {
        ended(span, err);
        release();
        if (err) reject(fail(err));
        else resolve(res);
      });
      release = cancelOnAbort(call, s.signal);
    });

  const clientStream = (requests: AsyncIterable<unknown> | Iterable<unknown>, opts?: CallOptions): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const s = setup(opts, defaultTimeoutMs);
      const span = startClientSpan(tracing, path, s.metadata);
      // Aborted once the server answered: stop reading the source, nobody wants the rest.
      const answered = new AbortController();
      let release = (): void => {};
      const call = channel.makeClientStreamRequest(path, ser, deser, s.metadata, s.options, (err, res) => {
        ended(span, err);
        answered.abort();
        release();
        if (err) reject(fail(err));
        else resolve(res);
      });
      release = cancelOnAbort(call, s.signal);
      sendAll(call, requests, answered.signal).catch((err: unknown) => {
        // The source failed (a read error, say): that is the error the caller needs to see.
        reject(err);
        call.cancel();
      });
    });

  const serverStream = (request: unknown, opts?: CallOptions): AsyncIterable<unknown> => ({
    [Symbol.asyncIterator]: () => {
      const s = setup(opts, defaultTimeoutMs);
      const span = startClientSpan(tracing, path, s.metadata);
      const call = channel.makeServerStreamRequest(path, ser, deser, request, s.metadata, s.options);
      return readStream(call, cancelOnAbort(call, s.signal), fail, span);
    },
  });

  const bidiStream = (requests: AsyncIterable<unknown> | Iterable<unknown>, opts?: CallOptions): AsyncIterable<unknown> => ({
    [Symbol.asyncIterator]: () => {
      const s = setup(opts, defaultTimeoutMs);
      const span = startClientSpan(tracing, path, s.metadata);
      const call = channel.makeBidiStreamRequest(path, ser, deser, s.metadata, s.options);
      const release = cancelOnAbort(call, s.signal);
      const done = new AbortController();
      sendAll(call, requests, done.signal).catch(() => call.cancel());
      return readStream(call, () => {
        done.abort();
        release();
      }, fail, span);
    },
  });

  switch (method.methodKind) {
    case 'unary':
      return unary;
    case 'server_streaming':
      return serverStream;
    case 'client_streaming':
      return clientStream;
    case 'bidi_streaming':
      return bidiStream;
  }
}

/** Writes every request with backpressure, then half-closes; stops early once `stop` aborts. */
async function sendAll(call: ClientWritableStream<unknown>, requests: AsyncIterable<unknown> | Iterable<unknown>, stop: AbortSignal): Promise<void> {
  for await (const req of requests) {
    if (stop.aborted) return;
    if (!call.write(req)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          stop.removeEventListener('abort', done);
          resolve();
        };
        call.on('drain', done);
        stop.addEventListener('abort', done);
      });
    }
  }
  if (!stop.aborted) call.end();
}

/** Iterates a grpc-js response stream, mapping its error; cancels the call if left early. */
async function* readStream(
  call: AsyncIterable<unknown> & { cancel(): void },
  release: () => void,
  fail: (err: ServiceError) => Error,
  span?: CallSpan,
): AsyncGenerator<unknown, void, undefined> {
  let complete = false;
  try {
    for await (const msg of call) yield msg;
    complete = true;
    span?.end(status.OK);
  } catch (err) {
    complete = true;
    span?.end(isServiceError(err) ? err.code : status.UNKNOWN, err);
    throw isServiceError(err) ? fail(err) : err;
  } finally {
    span?.end(status.CANCELLED);
    release();
    // The consumer broke out of its loop: tell the server to stop sending.
    if (!complete) call.cancel();
  }
}

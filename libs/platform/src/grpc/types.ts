import type { Metadata } from '@grpc/grpc-js';
import type { Identity } from '../auth/identity.js';

/**
 * The logging surface the gRPC layer needs. A pino `Logger` satisfies it; it is declared here so
 * the gRPC code does not depend on how the platform builds its loggers.
 */
export type GrpcLogger = {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};

/** What a handler knows about the call it serves, besides the request. */
export type CallContext = {
  /** The caller's metadata (headers). */
  metadata: Metadata;
  /**
   * When the caller stops waiting; undefined when it set none. Pass it on to outbound calls
   * (see `callOptionsFrom`) so the whole chain gives up together.
   */
  deadline?: Date;
  /** Aborted when the call is cancelled: the client went away, cancelled, or the deadline passed. */
  signal: AbortSignal;
  /** The caller's address, e.g. `ipv4:127.0.0.1:53124`. */
  peer: string;
  /** The full method path, e.g. `/refit.trigger.v1.TriggerService/GetRun`. */
  method: string;
  /**
   * Correlates logs and error messages: the caller's `x-request-id` metadata when it sent a sane
   * one, otherwise a fresh UUID.
   */
  requestId: string;
  /**
   * Who called, as authenticated by the server (a service's certificate, a principal's token or
   * certificate, or anonymous while authentication is off). Record this as the actor of
   * anything the call changes, never a name the request carries.
   */
  identity: Identity;
};

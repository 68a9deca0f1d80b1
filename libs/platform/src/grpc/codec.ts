import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService } from '@bufbuild/protobuf';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { InvalidInputError } from '../errors.js';
import { checkMessage, DEFAULT_MAX_TEXT_CHARS } from '../proto-checks.js';

/**
 * Stands in for a request the server could not decode. grpc-js answers a throwing deserializer
 * with INTERNAL; returning this marker instead lets the handler answer INVALID_ARGUMENT.
 */
export class DecodeFailure {
  constructor(
    readonly typeName: string,
    readonly cause: unknown,
  ) {}

  /** The error the handler throws for it. */
  toError(): InvalidInputError {
    // A request that decodes but breaks a limit or holds an undefined enum already says so.
    if (this.cause instanceof InvalidInputError) return this.cause;
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause);
    return new InvalidInputError(`cannot decode ${this.typeName}: ${reason}`, { cause: this.cause });
  }
}

/** Options of {@link toServiceDefinition}. */
export type ServiceDefinitionOptions = {
  /**
   * Return a {@link DecodeFailure} instead of throwing on an undecodable request: one that does not
   * decode, holds an enum number its schema does not define, or a string longer than
   * `maxTextChars`. Default false.
   */
  markDecodeFailures?: boolean;
  /** With `markDecodeFailures`: most characters of a request's string field (see proto-checks). Default 4096. */
  maxTextChars?: number;
};

/**
 * Adapts a protobuf-es service to a grpc-js service definition: path `/<typeName>/<Method>`,
 * streaming flags from `methodKind`, protobuf-es binary codecs. Serializers accept a message, an
 * init object, or bytes already encoded with {@link encodeMessage} (passed through untouched).
 */
export function toServiceDefinition(service: DescService, opts: ServiceDefinitionOptions = {}): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    def[method.name] = {
      path: methodPath(method),
      originalName: method.localName,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input),
      requestDeserialize: opts.markDecodeFailures ? lenientDeserializer(method.input, opts.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS) : deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    };
  }
  return def;
}

/** The gRPC path of a method, e.g. `/refit.trigger.v1.TriggerService/GetRun`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * An answer a handler encoded itself (a hot path whose generic encoding costs more than the work:
 * see the deployer's columnar Predict answer); sent as is. `O` only types which message it is.
 */
export class Encoded<O extends DescMessage = DescMessage> {
  declare readonly schema?: O;
  constructor(readonly bytes: Uint8Array) {}
}

/** Encodes a message or init object of `schema` to the bytes sent on the wire. */
export function encodeMessage(schema: DescMessage, value: unknown): Buffer {
  if (value instanceof Encoded) return Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength);
  const bytes = toBinary(schema, create(schema, value as never));
  // A view, not a copy: toBinary returns a fresh array nobody else holds.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A grpc-js serializer for `schema`. */
export function serializer(schema: DescMessage): (value: unknown) => Buffer {
  // Messages are never Uint8Arrays, so bytes can only be a payload encoded ahead of time.
  return (value) => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : encodeMessage(schema, value));
}

/** A grpc-js deserializer for `schema` (throws on malformed bytes). */
export function deserializer(schema: DescMessage): (bytes: Buffer) => unknown {
  return (bytes) => fromBinary(schema, asUint8Array(bytes));
}

function lenientDeserializer(schema: DescMessage, maxText: number): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return checkMessage(schema, fromBinary(schema, asUint8Array(bytes)), { what: schema.name, maxText });
    } catch (e) {
      return new DecodeFailure(schema.typeName, e);
    }
  };
}

// A plain view (no copy), so `bytes` fields decode as Uint8Array like everywhere else in
// protobuf-es, not as Buffer slices.
function asUint8Array(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

import { ModelingInputError } from './errors.js';

/**
 * The transformed-split artifact: a row-major float32 feature matrix with its labels and column
 * names, in one small binary object shared by the feature, trainer and evaluator services.
 */

/** A labelled feature matrix. */
export type LabelledMatrix = { X: Float32Array; y: Float32Array; n: number; d: number; names: string[] };

const MAGIC = Buffer.from('REFITX1\n');

/** Encodes a labelled matrix: magic, header length, JSON header `{n, d, names}`, X, then y. */
export function encodeMatrix(m: LabelledMatrix): Buffer {
  if (m.X.length !== m.n * m.d) throw new ModelingInputError(`encodeMatrix: X has ${m.X.length} values, expected n·d = ${m.n * m.d}`);
  if (m.y.length !== m.n) throw new ModelingInputError(`encodeMatrix: y has ${m.y.length} values, expected n = ${m.n}`);
  const header = Buffer.from(JSON.stringify({ n: m.n, d: m.d, names: m.names }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return Buffer.concat([MAGIC, len, header, Buffer.from(m.X.buffer, m.X.byteOffset, m.X.byteLength), Buffer.from(m.y.buffer, m.y.byteOffset, m.y.byteLength)]);
}

/** Decodes {@link encodeMatrix}'s output; throws a ModelingInputError that says what is wrong with a bad artifact. */
export function decodeMatrix(buf: Uint8Array): LabelledMatrix {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < MAGIC.length + 4 || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw new ModelingInputError('decodeMatrix: not a Refit feature matrix (bad magic)');
  const hlen = b.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const header = JSON.parse(b.subarray(start, start + hlen).toString('utf8')) as { n: number; d: number; names: string[] };
  const body = start + hlen;
  const expected = body + 4 * (header.n * header.d + header.n);
  if (b.length !== expected) throw new ModelingInputError(`decodeMatrix: ${b.length} bytes, expected ${expected} for ${header.n}×${header.d}`);
  // Copy so the arrays are aligned whatever the source buffer's offset.
  const X = new Float32Array(header.n * header.d);
  Buffer.from(X.buffer).set(b.subarray(body, body + 4 * X.length));
  const y = new Float32Array(header.n);
  Buffer.from(y.buffer).set(b.subarray(body + 4 * X.length, expected));
  return { X, y, n: header.n, d: header.d, names: header.names };
}

/**
 * The columnar Predict answer, encoded by hand. protobuf-es writes a packed double through a fresh
 * 8-byte array and DataView per value and then joins the pieces: for 1,000 rows that is more than
 * a millisecond, several times the scoring. The layout here is PredictResponse's wire format
 * (proto/refit/deployer/v1/deployer.proto) for the fields a columnar answer sets; a test decodes it
 * with the generated schema and compares it with the generic encoding.
 */
import { endianness } from 'node:os';
import type { PredictResponseSchema } from '@refit/contracts';
import { Encoded } from '@refit/platform';

/** What a columnar answer holds (PredictResponse fields 1 and 3–8). */
export type ColumnarAnswer = {
  modelVersion: string;
  predictionIds: readonly string[];
  probabilities: readonly number[];
  /** One per row when a rollout candidate answered some rows; empty otherwise. */
  fromCandidate: readonly boolean[];
  candidateVersion: string;
  candidateVariant: string;
  imputed: Readonly<Record<string, number>>;
};

const LITTLE_ENDIAN = endianness() === 'LE';
// Wire types: 0 varint, 1 fixed64, 2 length-delimited.
const tag = (field: number, wire: number) => (field << 3) | wire;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Encodes `a` as a PredictResponse. */
export function encodeColumnarAnswer(a: ColumnarAnswer): Encoded<typeof PredictResponseSchema> {
  const n = a.probabilities.length;
  const strings = (s: string) => Buffer.byteLength(s, 'utf8');
  const field = (len: number) => 1 + varintSize(len) + len;
  const imputed = Object.entries(a.imputed).map(([k, v]) => {
    const keyLen = strings(k);
    return { k, v, keyLen, len: field(keyLen) + (v === 0 ? 0 : 1 + varintSize(v)) };
  });
  let size = 0;
  if (a.modelVersion) size += field(strings(a.modelVersion));
  for (const id of a.predictionIds) size += field(strings(id));
  if (n > 0) size += field(8 * n);
  if (a.fromCandidate.length > 0) size += field(a.fromCandidate.length);
  if (a.candidateVersion) size += field(strings(a.candidateVersion));
  if (a.candidateVariant) size += field(strings(a.candidateVariant));
  for (const e of imputed) size += field(e.len);

  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  const varint = (v: number) => {
    while (v >= 0x80) {
      buf[at++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[at++] = v;
  };
  const string = (f: number, s: string, len = strings(s)) => {
    buf[at++] = tag(f, 2);
    varint(len);
    at += buf.write(s, at, len, 'utf8');
  };
  if (a.modelVersion) string(1, a.modelVersion);
  for (const id of a.predictionIds) string(3, id);
  if (n > 0) {
    buf[at++] = tag(4, 2);
    varint(8 * n);
    if (LITTLE_ENDIAN) {
      const doubles = Float64Array.from(a.probabilities);
      buf.set(new Uint8Array(doubles.buffer), at);
      at += 8 * n;
    } else for (let i = 0; i < n; i++) at = buf.writeDoubleLE(a.probabilities[i], at);
  }
  if (a.fromCandidate.length > 0) {
    buf[at++] = tag(5, 2);
    varint(a.fromCandidate.length);
    for (const c of a.fromCandidate) buf[at++] = c ? 1 : 0;
  }
  if (a.candidateVersion) string(6, a.candidateVersion);
  if (a.candidateVariant) string(7, a.candidateVariant);
  for (const e of imputed) {
    buf[at++] = tag(8, 2);
    varint(e.len);
    string(1, e.k, e.keyLen);
    if (e.v !== 0) {
      buf[at++] = tag(2, 0);
      varint(e.v);
    }
  }
  if (at !== size) throw new Error(`columnar answer: wrote ${at} bytes of ${size}`);
  return new Encoded(buf);
}

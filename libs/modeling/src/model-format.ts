import { z } from 'zod';
import { ModelingInputError } from './errors.js';
import type { ResolvedModelSpec } from './model-spec.js';

// Layout: MAGIC | uint32 LE header length | header JSON (UTF-8) | raw float32 weights, in weightSpecs order.
const MAGIC = Buffer.from('REFITM1\n', 'latin1');
const PREFIX = MAGIC.length + 4;

/** What the header JSON of a serialized model holds. */
export type ModelHeader = {
  spec: ResolvedModelSpec;
  inputDim: number;
  /** tfjs-layers topology (the `modelTopology` of its model.json). */
  modelTopology: Record<string, unknown>;
  weightSpecs: Array<{ name: string; shape: number[]; dtype: 'float32' }>;
  /** Which tfjs-layers wrote it, for diagnosing artifacts from another version. */
  generatedBy?: string;
};

const headerSchema = z.object({
  // Fields added after the first release carry defaults, so older artifacts (a champion) still load.
  spec: z.object({
    kind: z.enum(['logistic', 'mlp']),
    head: z.enum(['binary', 'regression']).default('binary'),
    loss: z.enum(['crossentropy', 'mse', 'mae']).default('crossentropy'),
    hidden: z.array(z.number().int().positive()),
    activation: z.enum(['relu', 'tanh']),
    dropout: z.number().min(0).max(1).default(0),
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    learningRate: z.number().positive(),
    l2: z.number().nonnegative(),
    seed: z.number().int(),
    classWeight: z.union([z.enum(['none', 'balanced']), z.object({ negative: z.number().positive(), positive: z.number().positive() })]).default('none'),
    // Artifacts from before the solver choice were fitted by Adam under what is now `auto`.
    solver: z.enum(['auto', 'newton', 'adam']).default('auto'),
    earlyStopping: z.object({ patience: z.number().int().positive(), minDelta: z.number().nonnegative(), restoreBest: z.boolean() }).nullable().default(null),
  }),
  inputDim: z.number().int().positive(),
  modelTopology: z.record(z.string(), z.unknown()),
  weightSpecs: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.literal('float32') })).min(1),
  generatedBy: z.string().optional(),
});

/** Packs header + weights into the single-buffer model artifact. */
export function encodeModel(header: ModelHeader, weights: ArrayBuffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([MAGIC, len, json, new Uint8Array(weights)]);
}

function bad(what: string, cause?: unknown): ModelingInputError {
  return new ModelingInputError(`bad model artifact: ${what}`, {}, cause === undefined ? undefined : { cause });
}

/**
 * Unpacks and validates a model artifact written by {@link encodeModel}.
 * @throws ModelingInputError saying what is wrong (magic, truncation, header schema, weight size).
 */
export function decodeModel(buf: Uint8Array): { header: ModelHeader; weightData: ArrayBuffer } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < PREFIX || !b.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw bad('not a Refit model (missing REFITM1 header)');
  }
  const len = b.readUInt32LE(MAGIC.length);
  if (PREFIX + len > b.length) throw bad(`truncated header (needs ${len} bytes, ${b.length - PREFIX} present)`);
  let json: unknown;
  try {
    json = JSON.parse(b.subarray(PREFIX, PREFIX + len).toString('utf8'));
  } catch (err) {
    throw bad('header is not JSON', err);
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) throw bad(z.prettifyError(parsed.error).replace(/\n+/g, '; '), parsed.error);
  const header = parsed.data;
  const expected = header.weightSpecs.reduce((sum, w) => sum + 4 * w.shape.reduce((p, s) => p * s, 1), 0);
  const actual = b.length - PREFIX - len;
  if (actual !== expected) throw bad(`weights are ${actual} bytes, the header describes ${expected}`);
  // Copy into a fresh, aligned ArrayBuffer: Float32Array views need 4-byte alignment.
  const weightData = new Uint8Array(b.subarray(PREFIX + len)).buffer;
  return { header, weightData };
}

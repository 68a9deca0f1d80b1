// The client side of bench/serve, run by it in a child process: a small program of its own (no
// tfjs, no test harness), so its garbage collections stay short and its protobuf work never runs on
// the deployer's thread. Arguments: <inputs.json> <lanes.json> (see Lane).
import { readFileSync } from 'node:fs';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { Client as GrpcClient, credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { DeployerService, PredictRequestSchema, PredictResponseSchema } from '@refit/contracts';
import { watchGc, type GcPauses } from './gc-pauses.js';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
/** Length of one slice of single rows on one lane; the lanes take turns slice by slice. */
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 250);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/**
 * One stream of requests: a pipeline at an address, in plaintext or over TLS with a bearer token
 * (the CA file and the token), measured under its label.
 */
export type Lane = { label: string; address: string; pipeline: string; caFile?: string; token?: string };

/** What the client measured for one lane. */
export type Measured = {
  singleRow: { rate: number; p50: number; p99: number };
  batchRowsPerSecond: number;
  batchColumnarRowsPerSecond: number;
  /** Every single-row latency (ms) in the order sent, and where each slice of them ends (for a block bootstrap, see tail-ratio.ts). */
  samples: { ms: number[]; sliceEnds: number[] };
};

/** The client's answer: per lane label, and its own GC pauses during the single-row phase. */
export type ClientReport = { pipelines: Record<string, Measured>; clientGc: GcPauses };

type Input = { temp_max: number; temp_min: number; wind: number };

function channelOf(lane: Lane): ChannelCredentials {
  if (!lane.caFile) return credentials.createInsecure();
  const tls = credentials.createSsl(readFileSync(lane.caFile));
  if (!lane.token) return tls;
  const md = new Metadata();
  md.set('authorization', `Bearer ${lane.token}`);
  return credentials.combineChannelCredentials(tls, credentials.createFromMetadataGenerator((_p, cb) => cb(null, md.clone())));
}

/**
 * The client side (in the child process). The lanes are measured interleaved — short slices of
 * single rows (BENCH_SLICE_MS), in an order that alternates (A B, B A, …) so that neither lane
 * always follows the other, then chunks of 10 batches, taking turns — so that load from anything
 * else on the machine falls on every lane alike.
 */
async function measure(input: Input[], lanes: Lane[]): Promise<ClientReport> {
  // Bare grpc-js channels and pre-encoded requests, as load generators such as ghz do: this
  // process stays small (no Refit runtime), so its own pauses do not land in the measured tail.
  const channels = new Map(lanes.map((l) => [l.label, new GrpcClient(l.address, channelOf(l), { 'grpc.enable_channelz': 0 })]));
  const path = `/${DeployerService.typeName}/Predict`;
  const encode = (init: MessageInitShape<typeof PredictRequestSchema>) => Buffer.from(toBinary(PredictRequestSchema, create(PredictRequestSchema, init)));
  const rawPredict = (raw: GrpcClient, body: Buffer) =>
    new Promise<Buffer>((resolve, reject) => raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res))));
  const predictOn = async (raw: GrpcClient, init: MessageInitShape<typeof PredictRequestSchema>) => fromBinary(PredictResponseSchema, await rawPredict(raw, encode(init)));
  const encoded = new Map(lanes.map((l) => [l.label, input.map((row) => encode({ pipeline: l.pipeline, rows: [row] }))]));
  for (const lane of lanes) {
    const raw = channels.get(lane.label) as GrpcClient;
    for (let i = 0; i < 300; i++) await rawPredict(raw, encoded.get(lane.label)?.[i % input.length] ?? Buffer.alloc(0)); // warm-up
    // The answers are the real thing: decode one and check it.
    const answer = await predictOn(raw, { pipeline: lane.pipeline, rows: [input[0]] });
    if (answer.predictions.length !== 1 || !(answer.predictions[0].probability >= 0 && answer.predictions[0].probability <= 1)) throw new Error(`unexpected answer on ${lane.label}`);
  }
  const pipelines = lanes.map((l) => l.label);
  // Latencies go into preallocated arrays and answers are counted in callbacks: no promise or
  // closure per request outlives it, so the client's own garbage collections stay short.
  const perSlice = Math.max(1, Math.round((RATE * SLICE_MS) / 1000));
  const slices = Math.max(1, Math.round((SECONDS * 1000) / SLICE_MS));
  const latencies = new Map(pipelines.map((p) => [p, { ms: new Float64Array(slices * perSlice), n: 0, sliceEnds: [] as number[] }]));
  const elapsed = new Map(pipelines.map((p) => [p, 0]));
  let failed: Error | undefined;
  // The parent watches the deployer's pauses over the same stretch.
  process.send?.('single-start');
  const gc = watchGc();
  for (let slice = 0; slice < slices; slice++) {
    for (const pipeline of slice % 2 === 0 ? pipelines : [...pipelines].reverse()) {
      const lat = latencies.get(pipeline) ?? { ms: new Float64Array(0), n: 0, sliceEnds: [] };
      const bodies = encoded.get(pipeline) ?? [];
      const raw = channels.get(pipeline) as GrpcClient;
      const start = performance.now();
      let outstanding = 0;
      let allAnswered: () => void = () => undefined;
      const answered = (t0: number) => (err: Error | null) => {
        if (err) failed ??= err;
        lat.ms[lat.n++] = performance.now() - t0;
        if (--outstanding === 0) allAnswered();
      };
      for (let i = 0; i < perSlice; i++) {
        const wait = start + (i * 1000) / RATE - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        outstanding++;
        raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bodies[i % bodies.length], answered(performance.now()));
      }
      if (outstanding > 0) await new Promise<void>((r) => (allAnswered = r));
      lat.sliceEnds.push(lat.n);
      elapsed.set(pipeline, (elapsed.get(pipeline) ?? 0) + performance.now() - start);
    }
  }
  const clientGc = gc.stop();
  process.send?.('single-done');
  if (failed) throw failed;
  const batch = Array.from({ length: 1000 }, (_, i) => input[i % input.length]);
  const columns = ['temp_max', 'temp_min', 'wind'] as const;
  const values = batch.flatMap((r) => columns.map((c) => r[c]));
  const structMs = new Map(pipelines.map((p) => [p, 0]));
  const columnarMs = new Map(pipelines.map((p) => [p, 0]));
  for (let chunk = 0; chunk < BATCHES / 10; chunk++) {
    for (const lane of lanes) {
      const pipeline = lane.label;
      const raw = channels.get(pipeline) as GrpcClient;
      // Requests encoded once, as the single rows are (and as the C-core client sends them): what is
      // measured is the deployer's work and the answer's decoding, not this client's encoder.
      const structBody = encode({ pipeline: lane.pipeline, rows: batch });
      const columnarBody = encode({ pipeline: lane.pipeline, columns: [...columns], values });
      const b0 = performance.now();
      for (let i = 0; i < 10; i++) fromBinary(PredictResponseSchema, await rawPredict(raw, structBody));
      const c0 = performance.now();
      // The columnar fast path: column names + packed doubles in, packed answers out.
      for (let i = 0; i < 10; i++) fromBinary(PredictResponseSchema, await rawPredict(raw, columnarBody));
      structMs.set(pipeline, (structMs.get(pipeline) ?? 0) + c0 - b0);
      columnarMs.set(pipeline, (columnarMs.get(pipeline) ?? 0) + performance.now() - c0);
    }
  }
  for (const c of channels.values()) c.close();
  const perSecond = (ms: number) => Math.round((BATCHES * 1000) / (ms / 1000));
  const measured = Object.fromEntries(
    pipelines.map((p) => {
      const lat = latencies.get(p);
      const l = Array.from(lat?.ms.subarray(0, lat?.n) ?? []);
      return [
        p,
        {
          singleRow: { rate: Math.round(l.length / ((elapsed.get(p) ?? 1) / 1000)), p50: pct(l, 50), p99: pct(l, 99) },
          batchRowsPerSecond: perSecond(structMs.get(p) ?? 1),
          batchColumnarRowsPerSecond: perSecond(columnarMs.get(p) ?? 1),
          samples: { ms: l.map((x) => Math.round(x * 1000) / 1000), sliceEnds: lat?.sliceEnds ?? [] },
        },
      ];
    }),
  );
  return { pipelines: measured, clientGc };
}

const [inputsPath, lanesPath] = process.argv.slice(2);
const input = JSON.parse(readFileSync(inputsPath, 'utf8')) as Input[];
const lanes = JSON.parse(readFileSync(lanesPath, 'utf8')) as Lane[];
// The parent empties the prediction log first, so the runs start from the same table.
await new Promise<void>((resolve) => {
  process.once('message', () => resolve());
  process.send?.('reset');
});
// The report goes back over IPC (stdout stays free for node's own flags such as --trace-gc).
const report = await measure(input, lanes);
await new Promise<void>((resolve) => process.send?.({ report }, () => resolve()));
process.disconnect?.();
process.exit(0);

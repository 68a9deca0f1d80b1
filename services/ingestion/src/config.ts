import { parseBackendChoice, type BackendPreference } from '@refit/modeling';
import { InvalidInputError, loadBaseConfig, serviceAddress, type BaseConfig } from '@refit/platform';
import { loadImportSources, type ImportSources } from './import-sources.js';

/** The ingestion service's configuration. */
export type IngestionConfig = BaseConfig & {
  /** Address of the trigger service, asked for a pipeline spec not yet seen (REFIT_TRIGGER_ADDR; default 127.0.0.1:50051). */
  triggerAddress: string;
  /** Address of the registry, asked for the champion that scores each batch's labels (REFIT_REGISTRY_ADDR; default 127.0.0.1:50056). */
  registryAddress: string;
  /** Address of the deployer, asked for labeled predictions when a pipeline trains on feedback, and for the rows of predictions stream labels name (REFIT_DEPLOYER_ADDR; default 127.0.0.1:50057). */
  deployerAddress: string;
  /** TensorFlow.js backend the champion scores on (REFIT_TF_BACKEND): auto, wasm, cpu or tensorflow. Default auto. */
  tfBackend: BackendPreference;
  /**
   * Longest a push waits for the champion's verdict on its labels: asking the registry, loading the
   * model, scoring (REFIT_CHAMPION_CHECK_TIMEOUT_MS; default 10000). Past it the check is skipped
   * and the batch says so.
   */
  championCheckTimeoutMs: number;
  /**
   * The only sources ImportData reads: the S3 prefixes and Postgres connections declared in the
   * YAML or JSON file `REFIT_IMPORT_SOURCES` names, with the credentials of the variables each
   * source names (see import-sources.ts). Default none: every import is refused.
   */
  importSources: ImportSources;
  /** Limits and batching of stream sources (`data.source.stream`; see stream-source.ts). */
  stream: StreamConfig;
};

/** Limits and batching of the stream sources. */
export type StreamConfig = {
  /** Most messages a stream Refit creates for a pipeline holds before it refuses publishers (REFIT_STREAM_MAX_MESSAGES; default 1000000). */
  maxMessages: number;
  /** Most bytes such a stream holds before it refuses publishers (REFIT_STREAM_MAX_BYTES; default 1073741824, 1 GiB). */
  maxBytes: number;
  /** Largest row or label message; a larger one is refused by a stream Refit creates, quarantined when another stream delivers it (REFIT_STREAM_MAX_MESSAGE_BYTES; default 65536). */
  maxMessageBytes: number;
  /** Messages taken from the consumer per pull (REFIT_STREAM_FETCH_BATCH; default 2000). */
  fetchBatch: number;
  /** Most messages delivered and not yet persisted in a segment; a segment closes before it is reached (REFIT_STREAM_MAX_ACK_PENDING; default 50000). */
  maxAckPending: number;
  /** How long the consumer waits for a segment's acknowledgement before delivering again (REFIT_STREAM_ACK_WAIT_MS; default 60000). */
  ackWaitMs: number;
  /** How long a label whose row has not arrived waits for it before it is quarantined (REFIT_STREAM_ORPHAN_LABEL_WAIT_MS; default 600000, 10 min). */
  orphanLabelWaitMs: number;
  /** Most labels of a pipeline waiting for their rows; the oldest past it are quarantined (REFIT_STREAM_MAX_ORPHAN_LABELS; default 100000). */
  maxOrphanLabels: number;
  /** Lease of a pipeline's stream reader: a replica that stops renewing it is taken over after this long (REFIT_STREAM_LEASE_TTL_MS; default 15000). */
  leaseTtlMs: number;
  /** How often the applied pipelines are looked at for stream sources to start or stop (REFIT_STREAM_SCAN_MS; default 5000). */
  scanMs: number;
  /** Most prediction ids one GetPredictedRows call asks for; more are split (REFIT_STREAM_PREDICTION_LOOKUP_BATCH; default 10000, the deployer's limit). */
  predictionLookupBatch: number;
};

function timeoutMs(value: string | undefined): number {
  const ms = Number(value ?? 10_000);
  if (!Number.isInteger(ms) || ms < 1) throw new InvalidInputError(`REFIT_CHAMPION_CHECK_TIMEOUT_MS must be a whole number of milliseconds >= 1; got '${value}'`);
  return ms;
}

/** A whole number from `env[name]` (`fallback` when unset) within [min, max]. */
function whole(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidInputError(`${name} must be a whole number from ${min} to ${max}; got '${raw}'`);
  return n;
}

/** Reads the stream sources' limits. */
function streamConfig(env: NodeJS.ProcessEnv): StreamConfig {
  return Object.freeze({
    maxMessages: whole(env, 'REFIT_STREAM_MAX_MESSAGES', 1_000_000, 1000, 1_000_000_000),
    maxBytes: whole(env, 'REFIT_STREAM_MAX_BYTES', 1024 ** 3, 1024 * 1024, 2 ** 50),
    maxMessageBytes: whole(env, 'REFIT_STREAM_MAX_MESSAGE_BYTES', 65_536, 256, 1024 * 1024),
    fetchBatch: whole(env, 'REFIT_STREAM_FETCH_BATCH', 2000, 1, 10_000),
    maxAckPending: whole(env, 'REFIT_STREAM_MAX_ACK_PENDING', 50_000, 100, 1_000_000),
    ackWaitMs: whole(env, 'REFIT_STREAM_ACK_WAIT_MS', 60_000, 1000, 3_600_000),
    orphanLabelWaitMs: whole(env, 'REFIT_STREAM_ORPHAN_LABEL_WAIT_MS', 600_000, 0, 7 * 24 * 3_600_000),
    maxOrphanLabels: whole(env, 'REFIT_STREAM_MAX_ORPHAN_LABELS', 100_000, 1, 10_000_000),
    leaseTtlMs: whole(env, 'REFIT_STREAM_LEASE_TTL_MS', 15_000, 300, 600_000),
    scanMs: whole(env, 'REFIT_STREAM_SCAN_MS', 5000, 100, 600_000),
    predictionLookupBatch: whole(env, 'REFIT_STREAM_PREDICTION_LOOKUP_BATCH', 10_000, 1, 10_000),
  });
}

/** Reads and validates the ingestion service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<IngestionConfig> {
  const base = loadBaseConfig('ingestion', { defaultGrpcPort: 50052, env });
  return Object.freeze({
    ...base,
    triggerAddress: serviceAddress('trigger', env),
    registryAddress: serviceAddress('registry', env),
    deployerAddress: serviceAddress('deployer', env),
    tfBackend: parseBackendChoice(env.REFIT_TF_BACKEND),
    championCheckTimeoutMs: timeoutMs(env.REFIT_CHAMPION_CHECK_TIMEOUT_MS),
    importSources: loadImportSources(env, base.s3),
    stream: streamConfig(env),
  });
}

import type { DescMessage, DescService, MessageInitShape } from '@bufbuild/protobuf';
import { SpanKind } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { NatsConnection } from 'nats';
import type pg from 'pg';
import { refitFiles } from '@refit/contracts';
import type { BaseConfig } from './config.js';
import { EVENTS, subjectOf, type EventDef } from './events.js';
import { createClient, createGrpcServer, type Client, type ClientControls, type ClientOptions, type GrpcServer, type implement } from './grpc/index.js';
import type { Logger } from './logger.js';
import { createPlatformMetrics, createServiceMetrics, startMetricsServer, type MetricsServer, type ServiceMetrics } from './metrics/index.js';
import { observeClient } from './grpc/observed-client.js';
import { startBatchConsumer, type BatchConsumerOptions } from './nats/batch-consumer.js';
import { connectNats, enqueueEvent, ensureStream, startConsumer, startRelay, type Consumer, type ConsumerEffectsContext as DeliveryEffectsContext, type DeliveryContext, type ReceivedEvent, type Relay } from './nats/index.js';
import { prepareSchema } from './migrate-mode.js';
import { createPool, ensureDatabase, startLeased, type Lease, type LeaseOptions, type PgPool } from './pg/index.js';
import { startReadiness, type ReadinessState } from './readiness.js';
import { loadServiceSecurity, type ServiceSecurity } from './security.js';
import { createArtifactStore, type ArtifactStore } from './storage.js';
import { createTracing, traceStore, type Tracing } from './tracing/index.js';

/** What a consumer's handler (or work) gets besides the event and the transaction. */
export type HandlerContext = {
  logger: Logger;
  /**
   * Aborted when the service stops: long work should throw soon after, and the event is handed
   * back at once to another replica instead of waiting for the ack timeout.
   */
  signal: AbortSignal;
  /** Runs `fn` once this handling's transaction has committed (in-memory effects follow the database). */
  afterCommit: (fn: () => void) => void;
};

/** What `effects` gets besides the work's result and the transaction. */
export type EffectsContext = HandlerContext & { ev: ReceivedEvent };

/** A durable consumer of one event kind (or of every event, with `'*'`). */
export type ConsumeOptions<R = unknown> = {
  /** Short name, unique within the service; part of the durable consumer's name. */
  name: string;
  /** The event to consume, or `'*'` for every subject under the prefix (filter by type yourself). */
  event: EventDef | '*';
  /**
   * Events this process handles at once, each independently (default 1). Each holds a pool
   * connection while in a transaction: keep the sum over consumers below `REFIT_PG_POOL_MAX`.
   */
  concurrency?: number;
  /** Which events it handles (default all): the others are acknowledged without a transaction. */
  accept?: (ev: ReceivedEvent) => boolean;
  /**
   * The short name of a consumer of this service whose work this one takes over in part (a
   * consumer split by concern): when first created, it starts where that one had got to, so an
   * upgrade does not replay the stream's history into it.
   */
  takeOverFrom?: string;
  /**
   * Called once the event is given up (a permanent error, a transient one past
   * `REFIT_RETRY_HORIZON_MS`, `REFIT_MAX_DELIVER` other failures). Default: the run named by the
   * event is marked failed at this service's stage with the error's message.
   */
  onDeadLetter?: (ev: ReceivedEvent, error: unknown, tx: pg.PoolClient) => Promise<void>;
} & (
  | {
      /** A short handler: does the work and writes its effects (and outgoing events) in `tx`. */
      handle: (ev: ReceivedEvent, tx: pg.PoolClient, ctx: HandlerContext) => Promise<void>;
      work?: undefined;
      effects?: undefined;
    }
  | {
      handle?: undefined;
      /**
       * Long work (training, S3 I/O, scoring), done outside any transaction; may run again for
       * the same event (a crash, a hand-back, a transient failure), so it has no effects of its
       * own beyond write-once artifacts.
       */
      work: (ev: ReceivedEvent, ctx: HandlerContext) => Promise<R>;
      /** Writes the work's effects (state, outgoing events) in a short transaction that also records the event handled. */
      effects: (result: R, tx: pg.PoolClient, ctx: EffectsContext) => Promise<void>;
    }
);

/** Options of {@link ServiceRuntime.consumeBatch}. */
export type ConsumeBatchOptions = {
  /** Short name, unique within the service; part of the durable consumer's name. */
  name: string;
  event: EventDef;
  /** Most events in one batch (default 500) and how long the first waits for others, ms (default 20). */
  maxBatch?: number;
  lingerMs?: number;
  /** See ConsumeOptions.takeOverFrom. */
  takeOverFrom?: string;
  handle: BatchConsumerOptions['handle'];
};

/** Options of {@link ServiceRuntime.runLeased}: those of `startLeased` but the logger. */
export type RunLeasedOptions = Omit<LeaseOptions, 'logger'>;

/** Options of {@link ServiceRuntime.publish}. */
export type PublishOptions = { runId?: string; traceId?: string };

/** The plumbing one service process runs on: database, broker, object store, gRPC and events. */
export type ServiceRuntime = {
  readonly config: Readonly<BaseConfig>;
  readonly logger: Logger;
  readonly pool: PgPool;
  readonly nc: NatsConnection;
  readonly relay: Relay;
  readonly store: ArtifactStore;
  /** The gRPC server, once {@link ServiceRuntime.serve} was called. */
  readonly server: GrpcServer | undefined;
  /** TLS, authentication and event keys in force (see security.ts). */
  readonly security: ServiceSecurity;
  /**
   * The service's OpenTelemetry tracing (off unless `REFIT_OTEL_EXPORTER_OTLP_ENDPOINT` is set):
   * gRPC calls, consumed events and published ones are spans already; `tracing.inSpan` adds others.
   */
  readonly tracing: Tracing;
  /**
   * The service's Prometheus metrics: the platform's (gRPC, events, outbox, pool, process) and
   * the service's own, defined with `metrics.counter(…)` etc. (once per name). Without
   * `REFIT_METRICS_PORT` the platform counts nothing (the registry stays, for the service's own).
   */
  readonly metrics: ServiceMetrics;
  /** The port `GET /metrics` answers on (`REFIT_METRICS_PORT`); undefined when there is none. */
  readonly metricsPort: number | undefined;
  /** A client of another Refit service, authenticated as this service (mutual TLS when configured). */
  connect<S extends DescService>(service: S, address: string, opts?: Omit<ClientOptions, 'credentials'>): Client<S> & ClientControls;
  /**
   * Writes an outgoing event into the outbox within `tx` (it is published after commit).
   * @throws InvalidInputError when the event is larger than the NATS server takes (`max_payload`).
   */
  publish<S extends DescMessage>(tx: pg.PoolClient, event: EventDef<S>, message: MessageInitShape<S>, opts?: PublishOptions): Promise<string>;
  /** Whether Postgres and NATS answer (the gRPC health status is SERVING only while both do). */
  readonly readiness: ReadinessState;
  /** Starts a durable consumer shared by every replica of this service. */
  consume<R = unknown>(opts: ConsumeOptions<R>): Promise<void>;
  /**
   * Starts a durable consumer that takes events in batches, each batch in one transaction (see
   * nats/batch-consumer.ts): for floods of small events. Each event is recorded handled with the
   * batch, so the handler gets each event once.
   */
  consumeBatch(opts: ConsumeBatchOptions): Promise<void>;
  /**
   * Runs singleton work in exactly one replica of the service at a time, under a lease in the
   * service schema (see `startLeased`); stopped (and the lease released) on close, before the consumers.
   */
  runLeased(opts: RunLeasedOptions): Lease;
  /** Starts the gRPC server (with health and reflection) for the given services. */
  serve(...services: Array<ReturnType<typeof implement>>): Promise<GrpcServer>;
  /** Registers work to stop first on close (a scheduler, a timer loop…). */
  onClose(stop: () => Promise<void>): void;
  /**
   * Stops in order: health NOT_SERVING → own loops (onClose) and leased work → consumers (work in
   * progress handed back) → gRPC → relay (publishes what is committed) → NATS drain → pool.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** How long close() lets consumer transactions in flight finish before handing their events back. */
const CONSUMER_STOP_WAIT_MS = 5000;
/** How long close() waits for connections still in use (a handler left behind) before it returns. */
const POOL_END_WAIT_MS = 2000;

/**
 * Extra time the whole close() may need beyond `shutdownGraceMs` (the gRPC calls' grace):
 * consumers (5 s), the relay's last publish (5 s plus one publish timeout) and the pool (2 s).
 */
export const RUNTIME_CLOSE_OVERHEAD_MS = 20_000;

/** Ends the pool; a connection a handler left behind must not hold the exit (its transaction rolls back). */
async function endPool(pool: PgPool, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    pool.end().then(() => true, () => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), POOL_END_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (!ended) logger.warn({ inUse: pool.totalCount - pool.idleCount }, 'Postgres connections still in use at close; their transactions roll back when the process exits');
}

/** Options of {@link startRuntime}. */
export type RuntimeOptions = {
  config: Readonly<BaseConfig>;
  logger: Logger;
  /** Folder of this service's numbered `.sql` migrations. */
  migrationsDir: string;
  /** Exports this runtime's spans here, as they end, whatever the config says (tests: an `InMemorySpanExporter`). Default: per config. */
  spanExporter?: SpanExporter;
  /**
   * Whether the object store is part of readiness (default true): false for a service that does
   * its job without it for a while (the deployer serves the models it holds in memory).
   */
  readinessNeedsStore?: boolean;
};

/**
 * Connects a service to Postgres (its own schema, migrated or verified per `REFIT_MIGRATE`), NATS
 * JetStream (stream ensured, outbox relay started) and the object store (bucket ensured).
 *
 * @throws FailedPreconditionError with `REFIT_MIGRATE=verify` when a migration is missing or changed.
 */
export async function startRuntime(opts: RuntimeOptions): Promise<ServiceRuntime> {
  const { config, logger } = opts;
  const security = loadServiceSecurity(config, logger);
  const tracing = createTracing({ service: config.service, ...config.tracing, exporter: opts.spanExporter });
  // Only a service that migrates itself may create the database (REFIT_MIGRATE, see migrate-mode.ts).
  if (config.migrate === 'apply') await ensureDatabase(config.pgUrl);
  const pool = createPool({
    url: config.pgUrl,
    schema: config.pgSchema,
    max: config.pgPoolMax,
    onError: (err) => logger.warn({ err }, 'a Postgres connection failed; the pool replaces it'),
  });
  try {
    await prepareSchema({ config, logger, pool, migrationsDir: opts.migrationsDir });
  } catch (err) {
    await pool.end().catch(() => undefined);
    await tracing.shutdown().catch(() => undefined);
    throw err;
  }
  const nc = await connectNats({ url: config.natsUrl, name: config.service, user: config.security.natsUser, pass: config.security.natsPassword });
  await ensureStream(nc, { name: config.streamName, subjectPrefix: config.subjectPrefix });
  const untracedStore = createArtifactStore(config.s3);
  const store = traceStore(untracedStore, tracing);
  await store.ensureBucket();
  // Off (no REFIT_METRICS_PORT) means off: no process sampling, nothing counted on the hot paths.
  const observing = config.metricsPort > 0;
  const metrics = createServiceMetrics({ service: config.service, defaults: observing });
  const platformMetrics = createPlatformMetrics(metrics, { pool, nc });
  const observe = <T>(o: T): T | undefined => (observing ? o : undefined);
  const relay = startRelay({ pool, nc, logger, source: config.service, signer: security.signer, observer: observe(platformMetrics.relay) });
  let metricsServer: MetricsServer | undefined;
  const consumers: Consumer[] = [];
  const closers: Array<() => Promise<void>> = [];
  const leases: Lease[] = [];
  let server: GrpcServer | undefined;
  let closed: Promise<void> | undefined;
  const readiness = startReadiness({
    pgUrl: config.pgUrl,
    applicationName: `refit:${config.pgSchema}:readiness`,
    nc,
    logger,
    intervalMs: config.readinessProbeMs,
    // A stat of a key nobody writes: "not found" is an answer, a refused connection is not.
    probeStore: opts.readinessNeedsStore === false ? undefined : () => untracedStore.exists('.refit/readiness-probe'),
    onChange: (state) => {
      if (!closed) server?.setServing(state.ready);
    },
  });

  const runFailedOnDeadLetter = async (ev: ReceivedEvent, error: unknown, tx: pg.PoolClient): Promise<void> => {
    if (!ev.runId) return;
    const reason = error instanceof Error ? error.message : String(error);
    await rt.publish(tx, EVENTS.runFailed, { runId: ev.runId, stage: config.service, reason }, { runId: ev.runId, traceId: ev.traceId });
  };

  const rt: ServiceRuntime = {
    config,
    logger,
    pool,
    nc,
    relay,
    store,
    get server() {
      return server;
    },
    security,
    tracing,
    metrics,
    get metricsPort() {
      return metricsServer?.port;
    },
    get readiness() {
      return readiness.state;
    },
    connect(service, address, clientOpts) {
      const client = createClient(service, address, { ...clientOpts, credentials: security.clientCredentials, tracing });
      return observing ? observeClient(client, service, platformMetrics.client) : client;
    },
    publish(tx, event, message, publishOpts) {
      const subject = subjectOf(config.subjectPrefix, event);
      // A PRODUCER span per event: the consumers' spans become its children, through the outbox and NATS.
      return tracing.inSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject, ...(publishOpts?.runId ? { 'refit.run_id': publishOpts.runId } : {}) } }, () => enqueueEvent(tx, {
        subject,
        schema: event.schema,
        message,
        runId: publishOpts?.runId,
        traceId: publishOpts?.traceId,
      }, { maxPayloadBytes: nc.info?.max_payload }));
    },
    async consume(c) {
      const ctxOf = (ev: ReceivedEvent, d: { signal: AbortSignal; afterCommit: (fn: () => void) => void }): HandlerContext => ({
        logger: ev.runId ? logger.child({ runId: ev.runId }) : logger,
        signal: d.signal,
        afterCommit: d.afterCommit,
      });
      const consumer = await startConsumer({
        nc,
        pool,
        logger,
        stream: config.streamName,
        durable: `${config.service}-${c.name}`,
        filterSubject: c.event === '*' ? `${config.subjectPrefix}.>` : subjectOf(config.subjectPrefix, c.event),
        source: config.service,
        subjectPrefix: config.subjectPrefix,
        ackWaitMs: config.ackWaitMs,
        maxDeliver: config.maxDeliver,
        retry: { baseMs: config.retryBaseMs, maxDelayMs: config.retryMaxDelayMs, horizonMs: config.retryHorizonMs },
        concurrency: c.concurrency,
        accept: c.accept,
        takeOverFrom: c.takeOverFrom && `${config.service}-${c.takeOverFrom}`,
        stopWaitMs: Math.min(CONSUMER_STOP_WAIT_MS, config.shutdownGraceMs),
        relay,
        verifier: security.verifier,
        tracing,
        observer: observe(platformMetrics.consumer(config.streamName, `${config.service}-${c.name}`)),
        ...(c.handle
          ? { handle: (ev: ReceivedEvent, tx: pg.PoolClient, d: DeliveryContext) => c.handle(ev, tx, ctxOf(ev, d)) }
          : {
              work: (ev: ReceivedEvent, d: DeliveryContext) => c.work(ev, ctxOf(ev, d)),
              effects: (result: unknown, tx: pg.PoolClient, d: DeliveryEffectsContext) => c.effects(result as never, tx, { ...ctxOf(d.ev, d), ev: d.ev }),
            }),
        onDeadLetter: c.onDeadLetter ?? runFailedOnDeadLetter,
      });
      consumers.push(consumer);
    },
    async consumeBatch(c) {
      const consumer = await startBatchConsumer({
        nc,
        pool,
        logger,
        stream: config.streamName,
        durable: `${config.service}-${c.name}`,
        filterSubject: subjectOf(config.subjectPrefix, c.event),
        ackWaitMs: config.ackWaitMs,
        maxBatch: c.maxBatch,
        lingerMs: c.lingerMs,
        handle: c.handle,
        takeOverFrom: c.takeOverFrom && `${config.service}-${c.takeOverFrom}`,
        relay,
        verifier: security.verifier,
        tracing,
        observer: observe(platformMetrics.consumer(config.streamName, `${config.service}-${c.name}`)),
        retry: { baseMs: config.retryBaseMs, maxDelayMs: config.retryMaxDelayMs, horizonMs: config.retryHorizonMs },
      });
      consumers.push({ stop: () => consumer.stop(), [Symbol.asyncDispose]: () => consumer.stop() });
    },
    runLeased(leaseOpts) {
      const lease = startLeased(pool, { ...leaseOpts, logger });
      leases.push(lease);
      return lease;
    },
    async serve(...services) {
      server = await createGrpcServer({
        service: config.service,
        host: config.grpcHost,
        port: config.grpcPort,
        logger,
        services,
        files: refitFiles,
        credentials: security.serverCredentials,
        auth: security.auth,
        healthPort: config.healthPort,
        maxTextChars: config.maxTextChars,
        tracing,
        observe: observe(platformMetrics.server),
      });
      // Not ready yet (Postgres or NATS went away during start-up): say so from the first check.
      if (!readiness.state.ready) server.setServing(false);
      logger.info({ address: server.address }, 'gRPC server listening');
      return server;
    },
    onClose(stop) {
      closers.push(stop);
    },
    close() {
      closed ??= (async () => {
        server?.setServing(false);
        await metricsServer?.close();
        await readiness.stop();
        for (const stop of closers) await stop().catch((e: unknown) => logger.warn({ err: e }, 'a loop failed to stop'));
        await Promise.all(leases.map((l) => l.stop()));
        await Promise.all(consumers.map((c) => c.stop()));
        await server?.stop(config.shutdownGraceMs);
        await relay.stop();
        await nc.drain().catch((e: unknown) => logger.warn({ err: e }, 'NATS drain failed'));
        await endPool(pool, logger);
        await tracing.shutdown().catch((e: unknown) => logger.warn({ err: e }, 'exporting the last spans failed'));
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return rt.close();
    },
  };
  if (config.metricsPort > 0) {
    try {
      metricsServer = await startMetricsServer({ metrics, host: config.grpcHost, port: config.metricsPort, logger });
    } catch (err) {
      await rt.close();
      throw err;
    }
    logger.info({ port: metricsServer.port }, 'metrics served on /metrics');
  }
  return rt;
}

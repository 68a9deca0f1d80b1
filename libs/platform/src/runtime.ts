import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import type { NatsConnection } from 'nats';
import type pg from 'pg';
import { refitFiles } from '@refit/contracts';
import type { BaseConfig } from './config.js';
import { EVENTS, subjectOf, type EventDef } from './events.js';
import { createGrpcServer, type GrpcServer, type implement } from './grpc/index.js';
import type { Logger } from './logger.js';
import { connectNats, enqueueEvent, ensureStream, startConsumer, startRelay, type Consumer, type ReceivedEvent, type Relay } from './nats/index.js';
import { createPool, ensureDatabase, migrate, type PgPool } from './pg/index.js';
import { createArtifactStore, type ArtifactStore } from './storage.js';

/** What a consumer's handler gets besides the event and the transaction. */
export type HandlerContext = { logger: Logger };

/** A durable consumer of one event kind (or of every event, with `'*'`). */
export type ConsumeOptions = {
  /** Short name, unique within the service; part of the durable consumer's name. */
  name: string;
  /** The event to consume, or `'*'` for every subject under the prefix (filter by type yourself). */
  event: EventDef | '*';
  /** Does the work and writes its effects (and outgoing events) in `tx`. */
  handle: (ev: ReceivedEvent, tx: pg.PoolClient, ctx: HandlerContext) => Promise<void>;
  /**
   * Called once the event is given up (a permanent error, or max deliveries). Default: the run
   * named by the event is marked failed at this service's stage with the error's message.
   */
  onDeadLetter?: (ev: ReceivedEvent, error: unknown, tx: pg.PoolClient) => Promise<void>;
};

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
  /** Writes an outgoing event into the outbox within `tx` (it is published after commit). */
  publish<S extends DescMessage>(tx: pg.PoolClient, event: EventDef<S>, message: MessageInitShape<S>, opts?: PublishOptions): Promise<string>;
  /** Starts a durable consumer shared by every replica of this service. */
  consume(opts: ConsumeOptions): Promise<void>;
  /** Starts the gRPC server (with health and reflection) for the given services. */
  serve(...services: Array<ReturnType<typeof implement>>): Promise<GrpcServer>;
  /** Registers work to stop first on close (a scheduler, a timer loop…). */
  onClose(stop: () => Promise<void>): void;
  /** Stops in order: health NOT_SERVING → own loops (onClose) → consumers → gRPC → relay → NATS drain → pool. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Options of {@link startRuntime}. */
export type RuntimeOptions = {
  config: Readonly<BaseConfig>;
  logger: Logger;
  /** Folder of this service's numbered `.sql` migrations. */
  migrationsDir: string;
};

/**
 * Connects a service to Postgres (its own schema, migrated), NATS JetStream (stream ensured,
 * outbox relay started) and the object store (bucket ensured).
 */
export async function startRuntime(opts: RuntimeOptions): Promise<ServiceRuntime> {
  const { config, logger } = opts;
  await ensureDatabase(config.pgUrl);
  const pool = createPool({ url: config.pgUrl, schema: config.pgSchema });
  const { applied } = await migrate(pool, { schema: config.pgSchema, dir: opts.migrationsDir });
  if (applied.length > 0) logger.info({ applied, schema: config.pgSchema }, 'migrations applied');
  const nc = await connectNats({ url: config.natsUrl, name: config.service });
  await ensureStream(nc, { name: config.streamName, subjectPrefix: config.subjectPrefix });
  const store = createArtifactStore(config.s3);
  await store.ensureBucket();
  const relay = startRelay({ pool, nc, logger, source: config.service });
  const consumers: Consumer[] = [];
  const closers: Array<() => Promise<void>> = [];
  let server: GrpcServer | undefined;
  let closed: Promise<void> | undefined;

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
    publish(tx, event, message, publishOpts) {
      return enqueueEvent(tx, {
        subject: subjectOf(config.subjectPrefix, event),
        schema: event.schema,
        message,
        runId: publishOpts?.runId,
        traceId: publishOpts?.traceId,
      });
    },
    async consume(c) {
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
        relay,
        handle: (ev, tx) => c.handle(ev, tx, { logger: ev.runId ? logger.child({ runId: ev.runId }) : logger }),
        onDeadLetter: c.onDeadLetter ?? runFailedOnDeadLetter,
      });
      consumers.push(consumer);
    },
    async serve(...services) {
      server = await createGrpcServer({
        service: config.service,
        host: config.grpcHost,
        port: config.grpcPort,
        logger,
        services,
        files: refitFiles,
      });
      logger.info({ address: server.address }, 'gRPC server listening');
      return server;
    },
    onClose(stop) {
      closers.push(stop);
    },
    close() {
      closed ??= (async () => {
        server?.setServing(false);
        for (const stop of closers) await stop().catch((e: unknown) => logger.warn({ err: e }, 'a loop failed to stop'));
        await Promise.all(consumers.map((c) => c.stop()));
        await server?.stop(config.shutdownGraceMs);
        await relay.stop();
        await nc.drain().catch((e: unknown) => logger.warn({ err: e }, 'NATS drain failed'));
        await pool.end();
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return rt.close();
    },
  };
  return rt;
}

import { DeployerService, IngestionService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { IngestionConfig } from './config.js';
import { consumeIngestionEvents } from './events.js';
import { createIngestionHandlers } from './server.js';
import { streamMetrics } from './stream-metrics.js';
import { deployerPredictionRows, runStreamSource, type StreamHooks } from './stream-source.js';
import { startStreamSources } from './stream-supervisor.js';

/** Options of {@link startIngestionService}. */
export type IngestionServiceOptions = {
  /** Called around each stream segment's commit (tests stop the service there). Default none. */
  streamHooks?: StreamHooks;
};

/** Registers the ingestion service's consumers, stream sources and gRPC handlers on a started runtime. */
export async function startIngestionService(rt: ServiceRuntime, config: Readonly<IngestionConfig>, opts: IngestionServiceOptions = {}): Promise<void> {
  const metrics = streamMetrics(rt.metrics);
  // Stream labels may name prediction ids: the deployer has the rows those predictions were made from.
  const deployer = rt.connect(DeployerService, config.deployerAddress);
  const predictions = deployerPredictionRows(deployer);
  const streams = startStreamSources({
    pool: rt.pool,
    logger: rt.logger,
    runLeased: (o) => rt.runLeased(o),
    scanMs: config.stream.scanMs,
    leaseTtlMs: config.stream.leaseTtlMs,
    run: (applied, signal) =>
      runStreamSource(
        {
          pool: rt.pool,
          nc: rt.nc,
          store: rt.store,
          logger: rt.logger,
          publish: (tx, event, message, o) => rt.publish(tx, event, message, o),
          kick: () => rt.relay.kick(),
          metrics,
          limits: config.stream,
          serviceStream: config.streamName,
          subjectPrefix: config.subjectPrefix,
          predictions,
          hooks: opts.streamHooks,
        },
        applied,
        signal,
      ),
  });
  rt.onClose(async () => {
    await streams.stop();
    deployer.close();
  });
  await consumeIngestionEvents(rt, config, { onPipelineApplied: () => streams.kick() });
  await rt.serve(implement(IngestionService, createIngestionHandlers(rt, config)));
}

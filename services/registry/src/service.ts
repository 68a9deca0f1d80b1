import { RegistryService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import { startCheckpointer } from './checkpointer.js';
import type { RegistryConfig } from './config.js';
import { consumeRegistryEvents } from './events.js';
import { readLedgerKey } from './ledger-key.js';
import { registryMetrics } from './metrics.js';
import { createRegistryHandlers, type RegistryDeps } from './server.js';

/**
 * Registers the registry service's consumers and gRPC handlers on a started runtime and, with a
 * ledger key, the checkpointer that anchors the decision ledger in the object store.
 *
 * @throws FailedPreconditionError / InvalidInputError when the ledger key file is unreadable or too short.
 */
export async function startRegistryService(rt: ServiceRuntime, config: Readonly<RegistryConfig>): Promise<void> {
  const ledgerKey = config.ledgerKeyFile ? await readLedgerKey(config.ledgerKeyFile) : undefined;
  if (ledgerKey) {
    const checkpointer = startCheckpointer({ pool: rt.pool, store: rt.store, key: ledgerKey, logger: rt.logger });
    rt.onClose(() => checkpointer.stop());
  } else {
    rt.logger.warn('REFIT_LEDGER_KEY is not set: the decision ledger is only hash-chained, so removed last entries or a recomputed chain go unnoticed (development only)');
  }
  const aliasChanges = registryMetrics(rt.metrics, rt.pool).aliasChanges;
  const deps: RegistryDeps = {
    pool: rt.pool,
    relay: rt.relay,
    store: rt.store,
    logger: rt.logger,
    publish: rt.publish.bind(rt),
    ledgerKey,
    aliasMoved: (m) => aliasChanges.inc({ pipeline: m.pipeline, alias: m.alias, kind: m.kind }),
  };
  await consumeRegistryEvents(rt, deps);
  await rt.serve(implement(RegistryService, createRegistryHandlers(deps)));
}

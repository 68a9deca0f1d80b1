/** gRPC clients of the services the console reads, and the per-call options that carry a person's token. */
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import { DeployerService, EvaluatorService, FeatureService, IngestionService, RegistryService, TrainerService, TriggerService } from '@refit/contracts';
import { channelCredentials, createClient, type CallOptions } from '@refit/platform';
import type { ConsoleConfig } from './config.js';

/** Opens one channel per service (TLS with the CA when configured; never a credential of its own). */
export function createApi(config: Pick<ConsoleConfig, 'addresses' | 'ca' | 'grpcTimeoutMs'>) {
  const opts = { credentials: config.ca ? channelCredentials({ ca: config.ca }) : grpcCredentials.createInsecure(), timeoutMs: config.grpcTimeoutMs };
  const a = config.addresses;
  const clients = {
    trigger: createClient(TriggerService, a.trigger, opts),
    ingestion: createClient(IngestionService, a.ingestion, opts),
    feature: createClient(FeatureService, a.feature, opts),
    trainer: createClient(TrainerService, a.trainer, opts),
    evaluator: createClient(EvaluatorService, a.evaluator, opts),
    registry: createClient(RegistryService, a.registry, opts),
    deployer: createClient(DeployerService, a.deployer, opts),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}

/** The console's clients. */
export type Api = ReturnType<typeof createApi>;

/**
 * Options of every call made for a person: their token as `authorization: Bearer …`, exactly as
 * the CLI sends it, so the service authenticates and authorises the person, not the console.
 */
export function asPerson(token: string | undefined, signal?: AbortSignal): CallOptions {
  return { signal, ...(token ? { metadata: { authorization: `Bearer ${token}` } } : {}) };
}

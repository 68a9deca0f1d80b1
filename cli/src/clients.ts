import { DeployerService, EvaluatorService, FeatureService, IngestionService, RegistryService, TrainerService, TriggerService } from '@refit/contracts';
import { clientCredentialsFromEnv, createClient, serviceAddress } from '@refit/platform/client';

/**
 * gRPC clients of every service the CLI talks to, at REFIT_<SERVICE>_ADDR or the default ports,
 * with the credentials `clientCredentialsFromEnv` finds (REFIT_TLS_CA, REFIT_TOKEN…, or `.refit/`).
 */
export function connect(env: NodeJS.ProcessEnv = process.env) {
  const { credentials } = clientCredentialsFromEnv(env);
  const opts = { credentials };
  return {
    trigger: createClient(TriggerService, serviceAddress('trigger', env), opts),
    ingestion: createClient(IngestionService, serviceAddress('ingestion', env), opts),
    feature: createClient(FeatureService, serviceAddress('feature', env), opts),
    trainer: createClient(TrainerService, serviceAddress('trainer', env), opts),
    evaluator: createClient(EvaluatorService, serviceAddress('evaluator', env), opts),
    registry: createClient(RegistryService, serviceAddress('registry', env), opts),
    deployer: createClient(DeployerService, serviceAddress('deployer', env), opts),
  };
}

/** The CLI's clients. */
export type Clients = ReturnType<typeof connect>;

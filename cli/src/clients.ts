import { DeployerService, EvaluatorService, IngestionService, RegistryService, TrainerService, TriggerService } from '@refit/contracts';
import { createClient, serviceAddress } from '@refit/platform';

/** gRPC clients of every service the CLI talks to, at REFIT_<SERVICE>_ADDR or the default ports. */
export function connect(env: NodeJS.ProcessEnv = process.env) {
  return {
    trigger: createClient(TriggerService, serviceAddress('trigger', env)),
    ingestion: createClient(IngestionService, serviceAddress('ingestion', env)),
    trainer: createClient(TrainerService, serviceAddress('trainer', env)),
    evaluator: createClient(EvaluatorService, serviceAddress('evaluator', env)),
    registry: createClient(RegistryService, serviceAddress('registry', env)),
    deployer: createClient(DeployerService, serviceAddress('deployer', env)),
  };
}

/** The CLI's clients. */
export type Clients = ReturnType<typeof connect>;

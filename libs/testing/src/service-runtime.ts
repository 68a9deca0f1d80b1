import { createLogger, startRuntime, type BaseConfig, type ServiceRuntime } from '@refit/platform';

/**
 * Starts a service's runtime in this process against a test env (its config usually comes from
 * the service's own `loadConfig({ ...env.env, REFIT_<SERVICE>_GRPC_PORT: '0' })`), so an
 * integration test can call the service's `start…Service(rt, config)` and talk to it over gRPC.
 * Dispose it (`await using`) to stop it.
 */
export async function startTestRuntime<C extends BaseConfig>(config: Readonly<C>, migrationsDir: string, opts: Pick<Parameters<typeof startRuntime>[0], 'spanExporter'> = {}): Promise<ServiceRuntime> {
  const logger = createLogger({ service: config.service, level: process.env.REFIT_TEST_LOG_LEVEL ?? 'warn' });
  return startRuntime({ config, logger, migrationsDir, ...opts });
}

/** The env of a test env plus an ephemeral gRPC port for each service. */
export function serviceEnv(env: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const ports = Object.fromEntries(['trigger', 'ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'].map((s) => [`REFIT_${s.toUpperCase()}_GRPC_PORT`, '0']));
  return { ...env, ...ports, ...extra };
}

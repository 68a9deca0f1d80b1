/**
 * Where the Refit services listen. Apart from config.ts (which needs zod) so that a client (the
 * CLI) finds a service without loading the configuration schema.
 */
import { InvalidInputError } from './errors.js';

/** Default gRPC port of each Refit service (used when no `REFIT_<NAME>_ADDR` is set). */
export const DEFAULT_PORTS = Object.freeze({
  trigger: 50051,
  ingestion: 50052,
  feature: 50053,
  trainer: 50054,
  evaluator: 50055,
  registry: 50056,
  deployer: 50057,
} as const);

/** Name of a Refit service. */
export type ServiceName = keyof typeof DEFAULT_PORTS;

/** `trainer` → `TRAINER`, `model-registry` → `MODEL_REGISTRY`: the token used in variable names. */
export const envToken = (service: string): string => service.toUpperCase().replaceAll('-', '_');

/**
 * Address (`host:port`) of another service: `REFIT_<NAME>_ADDR`, else `127.0.0.1:<default port>`.
 *
 * @param name - service name, e.g. `registry`.
 * @param env - variables to read (default `process.env`).
 * @throws InvalidInputError for an unknown service without an explicit address.
 */
export function serviceAddress(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[`REFIT_${envToken(name)}_ADDR`]?.trim();
  if (explicit) return explicit;
  const port = (DEFAULT_PORTS as Record<string, number | undefined>)[name];
  if (port === undefined) {
    throw new InvalidInputError(`unknown service ${JSON.stringify(name)}: expected one of ${Object.keys(DEFAULT_PORTS).join(', ')} or set REFIT_${envToken(name)}_ADDR`);
  }
  return `127.0.0.1:${port}`;
}

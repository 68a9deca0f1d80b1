import { join, resolve } from 'node:path';
import { InvalidInputError, findRefitHome, readCaFile, serviceAddress } from '@refit/platform';

/** The services the console reads from, by the name their `REFIT_<NAME>_ADDR` variable uses. */
export const CONSOLE_SERVICES = ['trigger', 'ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'] as const;
/** One of {@link CONSOLE_SERVICES}. */
export type ConsoleServiceName = (typeof CONSOLE_SERVICES)[number];

/** The console's configuration. Nothing else in the console reads `process.env`. */
export type ConsoleConfig = {
  /** HTTP port (`REFIT_CONSOLE_PORT`, default 8090; 0 picks a free one). */
  readonly port: number;
  /** Address to bind (`REFIT_CONSOLE_HOST`, default 127.0.0.1; 0.0.0.0 to serve other machines). */
  readonly host: string;
  /** gRPC address of each service (`REFIT_<SERVICE>_ADDR`, default 127.0.0.1:5005x), as the CLI finds them. */
  readonly addresses: Readonly<Record<ConsoleServiceName, string>>;
  /**
   * The CA that signs the services' certificates, as the CLI finds it (`REFIT_TLS_CA`, else
   * `REFIT_HOME`'s or the nearest `.refit/`'s `ca/ca.crt`). Present: TLS, and every person signs
   * in with their own token. Absent: plaintext development stack, where every caller is admin.
   * The console never uses the admin token of a `.refit/` folder: it forwards each person's.
   */
  readonly ca?: Buffer;
  /** Where the CA came from, for the start-up log. */
  readonly caPath?: string;
  /** Extra origins allowed to POST (`REFIT_CONSOLE_ORIGINS`, comma separated, e.g. the public URL behind a proxy). Default none: only the Host the request came to. */
  readonly allowedOrigins: readonly string[];
  /** Mark the session cookie `Secure` (`REFIT_CONSOLE_SECURE_COOKIE=true`; set it when served over HTTPS). Default false. */
  readonly secureCookie: boolean;
  /** Deadline of each gRPC call, ms (`REFIT_CONSOLE_GRPC_TIMEOUT_MS`, default 10,000). */
  readonly grpcTimeoutMs: number;
  /** Log level (`REFIT_LOG_LEVEL`, default info). */
  readonly logLevel: string;
};

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidInputError(`${name}=${JSON.stringify(text)}: give a whole number from ${min} to ${max}`, { details: { variable: name } });
  return n;
}

/**
 * Reads the console's configuration.
 *
 * @throws InvalidInputError naming the variable that is malformed or the CA file that cannot be read.
 */
export function loadConsoleConfig(env: NodeJS.ProcessEnv = process.env): Readonly<ConsoleConfig> {
  const home = env.REFIT_HOME ? resolve(env.REFIT_HOME) : findRefitHome();
  const caPath = env.REFIT_TLS_CA?.trim() || (home ? join(home, 'ca', 'ca.crt') : undefined);
  const origins = (env.REFIT_CONSOLE_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const o of origins) if (!/^https?:\/\/[^/\s]+$/.test(o)) throw new InvalidInputError(`REFIT_CONSOLE_ORIGINS: ${JSON.stringify(o)} is not an origin like https://refit.example.com`);
  return Object.freeze({
    port: intVar(env, 'REFIT_CONSOLE_PORT', 8090, 0, 65535),
    host: env.REFIT_CONSOLE_HOST?.trim() || '127.0.0.1',
    addresses: Object.freeze(Object.fromEntries(CONSOLE_SERVICES.map((s) => [s, serviceAddress(s, env)])) as Record<ConsoleServiceName, string>),
    ca: caPath ? readCaFile(caPath) : undefined,
    caPath,
    allowedOrigins: origins,
    secureCookie: env.REFIT_CONSOLE_SECURE_COOKIE === 'true',
    grpcTimeoutMs: intVar(env, 'REFIT_CONSOLE_GRPC_TIMEOUT_MS', 10_000, 100, 300_000),
    logLevel: env.REFIT_LOG_LEVEL?.trim() || 'info',
  });
}

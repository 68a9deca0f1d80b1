import { InvalidInputError, loadBaseConfig, type BaseConfig } from '@refit/platform';

/** The registry service's configuration: the platform's settings and the ledger key. */
export type RegistryConfig = BaseConfig & {
  /**
   * File whose bytes (at least 32, random) are the key of the decision ledger's MACs and
   * checkpoints (`REFIT_LEDGER_KEY`, mounted from a secret; the database never holds it). Default
   * none: entries are only hash-chained and `refit ledger verify` says anchoring is off. Required
   * when `REFIT_ENV=production`.
   */
  readonly ledgerKeyFile?: string;
};

/**
 * Reads and validates the registry service's configuration from the environment.
 *
 * @throws InvalidInputError when a variable is malformed, or `REFIT_ENV=production` lacks `REFIT_LEDGER_KEY`
 *   (except for `REFIT_MIGRATE=only`).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<RegistryConfig> {
  const base = loadBaseConfig('registry', { defaultGrpcPort: 50056, env });
  const ledgerKeyFile = env.REFIT_LEDGER_KEY?.trim() || undefined;
  // A one-shot migration (REFIT_MIGRATE=only) writes no ledger entry: it needs no key.
  if (base.environment === 'production' && base.migrate !== 'only' && !ledgerKeyFile) {
    // Without the key, someone with database access can cut or rewrite the ledger unnoticed.
    throw new InvalidInputError('REFIT_ENV=production refuses to start the registry without REFIT_LEDGER_KEY: mount a file of at least 32 random bytes (head -c 32 /dev/urandom) from a secret and name it there', {
      details: { variable: 'REFIT_LEDGER_KEY' },
    });
  }
  return Object.freeze({ ...base, ledgerKeyFile });
}

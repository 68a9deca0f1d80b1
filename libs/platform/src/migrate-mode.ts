/**
 * What a service does with its schema at start, by `REFIT_MIGRATE` (see BaseConfig.migrate):
 * migrate itself (`apply`), migrate and exit (`only`, a Kubernetes Job with the owner's rights), or
 * check that a Job did (`verify`, a Deployment whose database user has no DDL rights).
 */
import type { BaseConfig } from './config.js';
import { InvalidInputError } from './errors.js';
import type { Logger } from './logger.js';
import { createPool, ensureDatabase, migrate, verifyMigrations, type MigrateResult, type PgPool } from './pg/index.js';

/** Options of {@link prepareSchema}. */
export type PrepareSchemaOptions = {
  config: Pick<BaseConfig, 'migrate' | 'pgSchema'>;
  logger: Logger;
  /** A pool of the service's schema (`config.pgSchema`). */
  pool: PgPool;
  /** Folder of the service's numbered `.sql` migrations. */
  migrationsDir: string;
};

/**
 * The schema step of a serving start: `apply` migrates (and logs what it applied), `verify` refuses
 * a schema that lacks a migration or has a changed one. The database itself is created (`apply`)
 * before the pool is, by the caller: see {@link startRuntime}.
 *
 * @throws FailedPreconditionError (`verify`) naming the missing or changed migrations and how to run them.
 * @throws InvalidInputError for `only`, which never serves: see {@link runMigrationsOnly}.
 */
export async function prepareSchema({ config, logger, pool, migrationsDir }: PrepareSchemaOptions): Promise<void> {
  const schema = config.pgSchema;
  switch (config.migrate) {
    case 'apply': {
      const { applied } = await migrate(pool, { schema, dir: migrationsDir });
      if (applied.length > 0) logger.info({ applied, schema }, 'migrations applied');
      return;
    }
    case 'verify':
      await verifyMigrations(pool, { schema, dir: migrationsDir });
      logger.info({ schema }, 'REFIT_MIGRATE=verify: every migration is applied');
      return;
    case 'only':
      throw new InvalidInputError('REFIT_MIGRATE=only migrates and exits: run it with runMigrationsOnly, not a serving runtime');
  }
}

/** Options of {@link runMigrationsOnly}. */
export type MigrationsOnlyOptions = {
  config: Pick<BaseConfig, 'pgUrl' | 'pgSchema'>;
  logger: Logger;
  /** Folder of the service's numbered `.sql` migrations. */
  migrationsDir: string;
};

/**
 * `REFIT_MIGRATE=only`: creates the database if missing, applies the schema's pending migrations,
 * logs what it applied, and closes its one connection. Opens no gRPC port, NATS connection or
 * object store client, so the process exits when it returns.
 */
export async function runMigrationsOnly({ config, logger, migrationsDir }: MigrationsOnlyOptions): Promise<MigrateResult> {
  const schema = config.pgSchema;
  await ensureDatabase(config.pgUrl);
  await using pool = createPool({
    url: config.pgUrl,
    schema,
    max: 1,
    applicationName: `refit:${schema}:migrate`,
    onError: (err) => logger.warn({ err }, 'the Postgres connection failed'),
  });
  const result = await migrate(pool, { schema, dir: migrationsDir });
  logger.info({ applied: result.applied, schema }, result.applied.length > 0 ? `REFIT_MIGRATE=only: applied ${result.applied.length} migration(s) to ${schema}` : `REFIT_MIGRATE=only: ${schema} was up to date`);
  return result;
}

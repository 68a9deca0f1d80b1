/** Postgres: pools pinned to a service schema, transactions, migrations and the platform tables. */
export { assertSchemaName, createPool, dropSchema, ensureDatabase, sqlState, withTransaction } from './pool.js';
export type { PgPool, PoolOptions } from './pool.js';
export { migrate, readMigrations } from './migrate.js';
export type { MigrateOptions, MigrateResult } from './migrate.js';
export { PLATFORM_MIGRATIONS } from './platform-migration.js';
export type { Migration } from './platform-migration.js';

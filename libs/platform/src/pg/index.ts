/** Postgres: pools pinned to a service schema, transactions, migrations, leases and the platform tables. */
export { afterCommit, assertSchemaName, createPool, DEFAULT_POOL_MAX, dropSchema, ensureDatabase, sqlState, withTransaction } from './pool.js';
export type { PgPool, PoolOptions } from './pool.js';
export { watchClient } from './connection-errors.js';
export { startLeased } from './lease.js';
export type { Lease, LeaseContext, LeaseOptions } from './lease.js';
export { checkMigrations, describeUnmigrated, migrate, readMigrations, verifyMigrations } from './migrate.js';
export type { MigrateOptions, MigrateResult, MigrationStatus } from './migrate.js';
export { PLATFORM_MIGRATIONS } from './platform-migration.js';
export type { Migration } from './platform-migration.js';

/**
 * The platform's own tables, applied by {@link migrate} before a service's migrations. Kept inline
 * (not a .sql file) so the built library needs no asset copying. Never edit an applied version:
 * add a new entry instead (the checksum check would refuse the change).
 */

/** A migration: version (file name without `.sql`) and SQL text. */
export interface Migration {
  /** e.g. `001_runs`; migrations apply in version order. */
  version: string;
  /** SQL run inside one transaction with `search_path` set to the service schema. */
  sql: string;
}

/** Platform migrations, applied to every service schema first. */
export const PLATFORM_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: '000_platform',
    sql: `
-- Transactional outbox: a service writes its outgoing events here in the same transaction as its
-- state; the relay publishes them to JetStream and stamps published_at.
CREATE TABLE outbox (
  seq          bigserial PRIMARY KEY,
  id           uuid UNIQUE NOT NULL,
  subject      text NOT NULL,
  type         text NOT NULL,
  payload      bytea NOT NULL,
  headers      jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Idempotent consumers: one row per (consumer, event) handled, written in the handler's transaction.
CREATE TABLE handled_events (
  consumer   text NOT NULL,
  event_id   text NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
`,
  },
]);

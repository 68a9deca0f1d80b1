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
  {
    version: '000_platform_resilience',
    sql: `
-- Failed attempts of an event not handled yet, per consumer: what lets a consumer wait out a
-- transient failure (first_failure_at against the retry horizon) without counting it as one of
-- maxDeliver failures, and notice deliveries that ended with no outcome at all (a crash).
-- The row goes when the event is handled or dead-lettered.
CREATE TABLE consumer_attempts (
  consumer         text NOT NULL,
  event_id         text NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,    -- deliveries that started work (claimed) or failed
  outcomes         integer NOT NULL DEFAULT 0,    -- of those, how many ended in a recorded retry or hand-back
  failures         integer NOT NULL DEFAULT 0,    -- failures that count toward maxDeliver (neither transient nor permanent)
  first_failure_at timestamptz,
  last_error       text,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Leases: singleton work of a replicated service (a scheduler, a rollout analysis) runs in the
-- replica holding the lease; the holder renews it, anyone takes it over once it expired.
CREATE TABLE leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  token       bigint NOT NULL DEFAULT 1,        -- grows at every change of holder (fencing)
  expires_at  timestamptz NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  renewed_at  timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: '000_platform_outbox_dead',
    sql: `
-- A row's own publish failures (not outages): the relay moves it to outbox_dead after a few, and
-- claims rows that failed before after the others, so a failing row never holds up the rest.
ALTER TABLE outbox
  ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
  ADD COLUMN last_error text;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (attempts, seq) WHERE published_at IS NULL;

-- Outbox rows that can never be published (larger than NATS's max_payload, a subject NATS
-- refuses, failing again and again), moved aside with the reason; the run they belong to was
-- failed with that reason. To publish one after fixing the cause, insert it back into outbox.
CREATE TABLE outbox_dead (
  seq        bigint PRIMARY KEY,             -- its seq in outbox
  id         uuid NOT NULL,
  subject    text NOT NULL,
  type       text NOT NULL,
  payload    bytea NOT NULL,
  headers    jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  attempts   integer NOT NULL,               -- publishes tried, the last one included
  reason     text NOT NULL,
  dead_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_dead_id ON outbox_dead (id);
`,
  },
]);

-- Alerts: something about a pipeline that needs a person. One per source (an event id, a
-- decision id), so a redelivered event or a repeated decision raises nothing new.
create table alerts (
  id text primary key,
  pipeline text not null,
  kind text not null,
  run_id text,
  summary text not null,
  details jsonb not null default '{}',
  source_key text not null unique,
  created_at timestamptz not null default now()
);
create index alerts_by_pipeline on alerts (pipeline, created_at desc);

-- One webhook delivery of an alert. The target and the retry policy are copied from the spec
-- when the alert is raised: a spec change does not alter deliveries already under way.
create table alert_deliveries (
  id bigserial primary key,
  alert_id text not null references alerts (id),
  webhook text not null,
  url text not null,
  secret_env text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0,
  max_attempts int not null,
  backoff_ms int not null,
  max_backoff_ms int not null,
  timeout_ms int not null,
  next_attempt_at timestamptz not null default now(),
  last_http_status int,
  last_error text,
  delivered_at timestamptz,
  unique (alert_id, webhook)
);
create index alert_deliveries_due on alert_deliveries (next_attempt_at) where status = 'pending';

-- Every attempt of every delivery, answered or not.
create table alert_attempts (
  delivery_id bigint not null references alert_deliveries (id),
  attempt int not null,
  started_at timestamptz not null,
  duration_ms int not null,
  http_status int,
  error text,
  primary key (delivery_id, attempt)
);

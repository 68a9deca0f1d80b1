-- Every evaluation of a trigger policy, fired or not, with what was measured (the evidence).
create table decisions (
  id text primary key,
  pipeline text not null references pipelines (name),
  policy text not null,
  policy_index int not null,
  spec_version int not null,
  fired boolean not null,
  action text not null,
  reason text not null,
  measured jsonb not null default '{}',
  thresholds jsonb not null default '{}',
  -- The same evidence is decided once (a schedule slot, an external event id…).
  evidence_key text,
  run_id text,
  created_at timestamptz not null default now(),
  unique (pipeline, policy_index, evidence_key)
);
create index decisions_by_pipeline on decisions (pipeline, created_at desc);

-- Per pipeline and policy: what the scheduler and the debounce need to remember across restarts.
create table policy_state (
  pipeline text not null references pipelines (name),
  policy_index int not null,
  last_slot timestamptz,
  consecutive int not null default 0,
  primary key (pipeline, policy_index)
);

-- New data since the last run was requested, and a run waiting for the one in flight.
create table pipeline_state (
  pipeline text primary key references pipelines (name),
  rows_since_run bigint not null default 0,
  last_run_rows bigint not null default 0,
  queued_decision_id text
);

alter table runs add column decision_id text;
alter table runs add column rows_train bigint;

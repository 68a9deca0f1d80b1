create table pipelines (
  name text primary key,
  version int not null,
  spec_json text not null,
  spec_yaml text not null,
  updated_at timestamptz not null default now()
);

create table pipeline_versions (
  name text not null,
  version int not null,
  spec_json text not null,
  spec_yaml text not null,
  created_at timestamptz not null default now(),
  primary key (name, version)
);

create table runs (
  run_id text primary key,
  pipeline text not null references pipelines (name),
  spec_version int not null,
  status text not null check (status in ('running', 'succeeded', 'failed')),
  trigger_kind text not null,
  reason text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  failed_stage text,
  failure_reason text,
  model_version text,
  outcome text,
  decision jsonb not null default '{}'
);
create index runs_by_pipeline on runs (pipeline, created_at desc);

create table run_stages (
  run_id text not null references runs (run_id),
  stage text not null,
  status text not null,
  compute_ms bigint not null default 0,
  started_at timestamptz,
  finished_at timestamptz not null default now(),
  event_type text not null,
  detail text not null default '',
  primary key (run_id, stage)
);

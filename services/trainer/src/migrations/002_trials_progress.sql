alter table jobs
  add column search_strategy text not null default '',
  add column best_trial int not null default 0,
  add column trial_count int not null default 0,
  add column stop_reason text not null default 'completed',
  add column warm_start_model jsonb,
  add column code_version text not null default '';

create table trials (
  run_id text not null,
  trial int not null,
  rung int not null,
  params jsonb not null,
  status text not null,
  epochs int not null,
  best_epoch int not null,
  score double precision,
  curve jsonb not null,
  duration_ms bigint not null,
  error text not null default '',
  primary key (run_id, trial)
);

-- Latest progress of a run, written outside the training transaction so readers see it live.
create table progress (
  run_id text primary key,
  pipeline text not null,
  trial int not null,
  trials int not null,
  rung int not null,
  epoch int not null,
  epochs int not null,
  loss double precision not null,
  val_loss double precision,
  done boolean not null default false,
  updated_at timestamptz not null default now()
);

-- Runs a user cancelled: training stops within an epoch, and a later features.ready is ignored.
create table cancelled_runs (
  run_id text primary key,
  reason text not null,
  cancelled_at timestamptz not null default now()
);

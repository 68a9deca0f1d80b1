create table jobs (
  run_id text primary key,
  pipeline text not null,
  model_bucket text not null,
  model_key text not null,
  model_sha256 text not null,
  model_size bigint not null,
  backend text not null,
  epochs int not null,
  compute_ms bigint not null,
  final_loss double precision not null,
  training_config jsonb not null,
  seed bigint not null,
  finished_at timestamptz not null default now()
);

-- The run that produced each registered model version: a served version's training reference.
create table model_versions (
  pipeline text not null,
  version text not null,
  run_id text not null,
  created_at timestamptz not null default now(),
  primary key (pipeline, version)
);

-- Drift of each live monitoring window (served feature sample) against that reference.
create table window_drift (
  pipeline text not null,
  version text not null,
  window_end timestamptz not null,
  reference_run_id text not null,
  status text not null,
  share double precision,
  rows bigint not null,
  report_key text not null,
  created_at timestamptz not null default now(),
  primary key (pipeline, version, window_end)
);

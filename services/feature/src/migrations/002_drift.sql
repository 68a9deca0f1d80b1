-- The raw training split of each run: the reference the next run's data is compared with.
alter table transforms add column raw_train_key text;

create table drift_reports (
  run_id text primary key,
  pipeline text not null,
  reference_run_id text not null,
  status text not null,
  share double precision,
  report_key text not null,
  created_at timestamptz not null default now()
);

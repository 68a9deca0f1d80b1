-- Statistics of each run's training split: the reference the next runs' drift is measured against.
create table stats (
  run_id text primary key,
  pipeline text not null,
  snapshot_sha256 text not null,
  stats_key text not null,
  stats_sha256 text not null,
  stats_bucket text not null,
  created_at timestamptz not null default now()
);
create index stats_by_pipeline on stats (pipeline, created_at);

create table transforms (
  run_id text primary key,
  pipeline text not null,
  transform_key text not null,
  transform_sha256 text not null,
  transform_bucket text not null,
  feature_names jsonb not null,
  rows_fitted bigint not null,
  created_at timestamptz not null default now()
);

create table reports (
  run_id text primary key,
  pipeline text not null,
  verdict text not null,
  reasons jsonb not null,
  candidate_metrics jsonb not null,
  champion_metrics jsonb not null,
  champion_version text not null default '',
  rows_test bigint not null,
  report_bucket text not null,
  report_key text not null,
  report_sha256 text not null,
  report_size bigint not null,
  created_at timestamptz not null default now()
);

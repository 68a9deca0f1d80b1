-- Runs cancelled with `refit runs cancel`: a model.trained of one of them is never evaluated.
create table cancelled_runs (
  run_id text primary key,
  reason text not null default '',
  cancelled_at timestamptz not null default now()
);

-- The performance policy's sequential test, per pipeline, policy and served version: the
-- reference (warm-up rows or a fixed value) and the totals, running p-value and bounds of the
-- test, so a restart or another replica continues the same test instead of starting afresh.
create table performance_tests (
  pipeline text not null references pipelines (name),
  policy_index int not null,
  version text not null,
  state jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (pipeline, policy_index, version)
);

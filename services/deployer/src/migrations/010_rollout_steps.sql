-- Each step of a rollout as it went: its weight, when it started and ended, and how it ended (the
-- step's last analysis: pass, or the rollout's end), so a rollout can be shown over time.
create table rollout_steps (
  pipeline text not null,
  run_id text not null,
  step integer not null,
  weight integer not null,
  started_at timestamptz not null,
  ended_at timestamptz,
  outcome text not null default '',
  reason text not null default '',
  analysis jsonb,
  primary key (run_id, step)
);
create index rollout_steps_by_pipeline on rollout_steps (pipeline, started_at);
-- Rollouts recorded before: their current step, as far as it is known.
insert into rollout_steps (pipeline, run_id, step, weight, started_at, ended_at, outcome, reason, analysis)
select pipeline, run_id, step, weight, step_started_at, decided_at, last_outcome, last_reason, last_analysis from rollouts
on conflict do nothing;

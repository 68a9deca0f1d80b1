-- A pipeline's progressive rollout (shadow, canary, A/B): read at start-up so a restarted deployer
-- resumes at the step it was on.
create table rollouts (
  pipeline text primary key,
  run_id text not null,
  strategy text not null,
  candidate_version text not null,
  champion_version text not null,
  model_key text not null,
  transform_key text not null,
  config jsonb not null,
  status text not null,
  step integer not null,
  weight integer not null,
  started_at timestamptz not null,
  step_started_at timestamptz not null,
  last_outcome text not null default '',
  last_reason text not null default '',
  last_analysis jsonb,
  decided_at timestamptz
);

-- Shadow mode: the candidate's score of the same row, next to the champion's answer.
alter table predictions add column shadow_version text;
alter table predictions add column shadow_probability double precision;

-- Canary and A/B rows: the champion's score of a row the candidate answered, for divergence.
alter table predictions add column champion_probability double precision;

-- Predict failures per served version and variant, for the monitoring window's error rate.
create table prediction_errors (
  pipeline text not null,
  version text not null,
  variant text not null,
  rows integer not null,
  created_at timestamptz not null
);
create index prediction_errors_by_time on prediction_errors (pipeline, created_at);

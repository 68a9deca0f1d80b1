-- The online learner of each stream-fed pipeline: one row, advanced segment by segment in the
-- same transaction that records the segment event handled (a restart redoes at most the segment
-- in flight, and never applies one twice).
create table stream_learners (
  pipeline text primary key,
  -- The last segment applied (segments are applied in order, each once).
  segment bigint not null,
  -- The champion the learner started from and is judged against ('' while there is none).
  champion_version text not null default '',
  -- The learner's weights, optimizer state and counters (OnlineLearner.checkpoint), null without a champion.
  checkpoint bytea,
  -- The prequential judge's state since the learner started from this champion (plain JSON).
  judge jsonb,
  -- learning | proven | reset | waiting
  state text not null default 'waiting',
  updates bigint not null default 0,
  rows_learned bigint not null default 0,
  first_segment bigint not null default 0,
  resets bigint not null default 0,
  replacements bigint not null default 0,
  last_decision text not null default '',
  last_decision_at timestamptz,
  -- Stream time (the labels' event time) of the last replacement; minInterval counts from it.
  last_replacement_stream_at timestamptz,
  -- The run a replacement was handed to the registry under, until the champion changes.
  proven_run_id text not null default '',
  evidence jsonb,
  learning_rate double precision not null default 0,
  transform_drift double precision not null default 0,
  -- Exponentially weighted means of the learned rows' standardized inputs (plain JSON).
  drift_state jsonb,
  -- Labeled rows learned per minute bucket over the last minutes, for rows/s.
  recent jsonb not null default '[]',
  updated_at timestamptz not null default now()
);

-- The first label for a prediction wins: later feedback is counted, and a contradicting one kept.
alter table predictions add column feedback_duplicates integer not null default 0;
alter table predictions add column feedback_conflicts integer not null default 0;

create table feedback_conflicts (
  id bigserial primary key,
  pipeline text not null,
  prediction_id uuid not null,
  -- What the later feedback said, against what was joined first.
  label double precision not null,
  label_value text,
  joined_label double precision not null,
  joined_value text,
  at timestamptz not null default now()
);
create index feedback_conflicts_by_prediction on feedback_conflicts (prediction_id);

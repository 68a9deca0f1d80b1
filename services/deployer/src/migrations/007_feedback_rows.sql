-- Pipelines that train on feedback (data.include: [feedback]), from the specs the trigger announces.
create table feedback_pipelines (
  pipeline text primary key,
  spec_version int not null
);

-- The raw row of each prediction of such a pipeline, so that labeled predictions can become training rows.
create table prediction_rows (
  prediction_id uuid primary key,
  pipeline text not null,
  row jsonb not null
);

-- The label column's raw value sent with the feedback (needed when the label is derived by a rule).
alter table predictions add column feedback_value text;

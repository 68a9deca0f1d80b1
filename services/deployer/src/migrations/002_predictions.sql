-- Every prediction served, with the variant that made it; feedback (the true label) joins by id.
create table predictions (
  prediction_id uuid primary key,
  pipeline text not null,
  version text not null,
  variant text not null,
  probability double precision not null,
  latency_ms double precision not null,
  created_at timestamptz not null,
  feedback_label double precision,
  feedback_at timestamptz
);
create index predictions_by_time on predictions (pipeline, created_at);
create index predictions_by_feedback on predictions (pipeline, feedback_at) where feedback_at is not null;

-- Where each pipeline's last monitoring window ended.
create table monitoring_state (
  pipeline text primary key,
  window_end timestamptz not null
);

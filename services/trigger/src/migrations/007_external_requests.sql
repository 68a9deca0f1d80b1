-- Retrain requests from other systems (external.retrain), taken in as they come (one cheap insert
-- each) and decided in batches per pipeline: a flood of 10,000 is one decision with a count.
create table external_requests (
  id bigserial primary key,
  event_id text not null,
  pipeline text not null,
  source text not null,
  reason text not null default '',
  received_at timestamptz not null default now()
);
create index external_requests_by_pipeline on external_requests (pipeline, id);

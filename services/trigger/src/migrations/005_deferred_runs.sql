-- A trigger during the cool-down is deferred to its end, not dropped: the decision and when it is due.
alter table pipeline_state add column deferred_decision_id text;
alter table pipeline_state add column deferred_until timestamptz;
create index pipeline_state_deferred on pipeline_state (deferred_until) where deferred_until is not null;

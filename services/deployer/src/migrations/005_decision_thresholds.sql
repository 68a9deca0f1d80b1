-- The decision threshold stored with each model version (lineage.decision_threshold; 0.5 when the
-- trainer chose none) is kept with what is served, so a restarted deployer decides exactly as before
-- without asking the registry.
alter table deployments add column decision_threshold double precision not null default 0.5;
alter table rollouts add column decision_threshold double precision not null default 0.5;

-- The threshold each logged answer was decided at (and the shadow's), so live metrics and rollout
-- analyses judge the decisions users actually got. Rows logged before this migration: 0.5.
alter table predictions add column threshold double precision;
alter table predictions add column shadow_threshold double precision;

-- The shadow's own scoring time per row, so its latency is watched like a canary's.
alter table predictions add column shadow_latency_ms double precision;

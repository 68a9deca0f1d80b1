-- A decision that changes nothing (a trigger joining the run in flight, one suppressed by the
-- budget, the same "not yet" again) is stored once: later ones count on it.
alter table decisions add column repeats integer not null default 0;
alter table decisions add column last_repeated_at timestamptz;
alter table decisions add column last_reason text;
create index decisions_latest_by_policy on decisions (pipeline, policy_index, created_at desc);

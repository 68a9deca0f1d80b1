-- Monitoring windows count each prediction, each label and each failure exactly once, marking what
-- they counted: a row whose write commits after a window closed (the prediction log flushes later,
-- a feedback transaction commits late, another replica's rows) goes into the next window instead
-- of falling between two. Rows already there count as counted (the default applies to existing
-- rows without rewriting the table); new rows start uncounted.
alter table predictions add column window_made boolean not null default true;
alter table predictions alter column window_made set default false;
alter table predictions add column window_labeled boolean not null default true;
alter table predictions alter column window_labeled set default false;
alter table prediction_errors add column window_counted boolean not null default true;
alter table prediction_errors alter column window_counted set default false;
create index predictions_window_made on predictions (pipeline) where not window_made;
create index predictions_window_labeled on predictions (pipeline) where feedback_at is not null and not window_labeled;
create index prediction_errors_window on prediction_errors (pipeline) where not window_counted;

-- The champion's threshold on a row a canary or A/B candidate answered (next to its background score,
-- champion_probability), so the last canary step, where the champion answers nothing, is judged on the
-- same rows with each model deciding at its own threshold.
alter table predictions add column champion_threshold double precision;

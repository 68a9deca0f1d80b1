-- ListDrift reads a pipeline's reports newest first from both tables.
create index drift_reports_by_pipeline on drift_reports (pipeline, created_at desc);
create index window_drift_by_pipeline on window_drift (pipeline, created_at desc);

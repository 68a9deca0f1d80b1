-- Each monitoring window as published, so live quality can be read back (ListWindows) without
-- replaying the event stream. Pruned with the prediction log (REFIT_PREDICTION_RETENTION_DAYS).
create table monitoring_windows (
  id bigserial primary key,
  pipeline text not null,
  version text not null,
  variant text not null,
  window_start timestamptz not null,
  window_end timestamptz not null,
  -- The published refit.events.v1.MonitoringWindow, binary.
  message bytea not null
);
create index monitoring_windows_by_pipeline on monitoring_windows (pipeline, id desc);

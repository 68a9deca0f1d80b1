-- What each pipeline serves; read at start-up so a restarted deployer serves the same models.
create table deployments (
  pipeline text primary key,
  version text not null,
  run_id text not null,
  model_key text not null,
  transform_key text not null,
  loaded_at timestamptz not null default now()
);

create table deployment_history (
  id bigserial primary key,
  pipeline text not null,
  version text not null,
  run_id text not null,
  reason text not null,
  at timestamptz not null default now()
);

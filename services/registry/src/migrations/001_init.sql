-- Model versions are immutable: rows are inserted, never updated (promoted_by is set once).
create table models (
  pipeline text not null,
  version_num int not null,
  version text not null,
  run_id text not null unique,
  created_at timestamptz not null default now(),
  lineage jsonb not null,
  verdict text not null,
  reasons jsonb not null,
  metrics jsonb not null,
  trigger_kind text not null default '',
  trigger_reason text not null default '',
  promoted_by text not null default '',
  primary key (pipeline, version_num),
  unique (pipeline, version)
);

-- Aliases move with optimistic concurrency on `revision`: two racing promotions cannot both win.
create table aliases (
  pipeline text not null,
  alias text not null,
  version text not null,
  revision bigint not null,
  updated_at timestamptz not null default now(),
  primary key (pipeline, alias)
);

create table alias_history (
  id bigserial primary key,
  pipeline text not null,
  alias text not null,
  version text not null,
  previous_version text,
  run_id text not null default '',
  reason text not null,
  changed_at timestamptz not null default now()
);

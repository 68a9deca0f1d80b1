-- Pipeline specs as last announced by the trigger service (pipeline.applied).
create table pipelines (
  name text primary key,
  version int not null,
  spec_json text not null,
  updated_at timestamptz not null default now()
);

create table batches (
  seq bigserial unique,
  batch_id text primary key,
  pipeline text not null,
  filename text not null default '',
  format text not null,
  -- accepted: rows usable for training; rejected: the whole batch was refused (raw kept).
  status text not null check (status in ('accepted', 'rejected')),
  reject_reason text,
  sha256 text not null,
  raw_key text not null,
  rows_key text,
  rows_total bigint not null,
  rows_accepted bigint not null,
  rows_quarantined bigint not null,
  created_at timestamptz not null default now()
);
create index batches_by_pipeline on batches (pipeline, seq);

-- Rows that failed validation, with the reason: nothing is dropped silently.
create table quarantine (
  id bigserial primary key,
  pipeline text not null,
  batch_id text not null references batches (batch_id),
  line bigint not null,
  column_name text not null default '',
  expected text not null default '',
  value text not null default '',
  message text not null,
  raw text not null default '',
  created_at timestamptz not null default now()
);
create index quarantine_by_batch on quarantine (pipeline, batch_id, line);

create table snapshots (
  run_id text primary key,
  pipeline text not null,
  sha256 text not null,
  lineage jsonb not null,
  created_at timestamptz not null default now()
);

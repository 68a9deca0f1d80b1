-- The schema of a pipeline whose spec says schema.infer: inferred from its first accepted batch
-- and pinned; later batches are validated against it exactly as against declared columns.
create table pinned_schemas (
  pipeline text primary key,
  batch_id text not null references batches (batch_id),
  columns jsonb not null,
  -- Rows of that batch the schema was inferred from.
  rows bigint not null,
  created_at timestamptz not null default now()
);

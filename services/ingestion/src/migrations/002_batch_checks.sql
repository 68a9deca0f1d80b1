-- Batch-level validation: a batch can be flagged (kept, with warnings) besides accepted or rejected.
alter table batches drop constraint batches_status_check;
alter table batches add constraint batches_status_check check (status in ('accepted', 'flagged', 'rejected'));
alter table batches add column problems jsonb not null default '[]';
alter table batches add column warnings jsonb not null default '[]';
-- Null rates, ranges, quartiles and categories of the batch (see profile.ts).
alter table batches add column profile jsonb;
create index batches_by_sha on batches (pipeline, sha256);

-- The profile of a pipeline's first accepted batch: what later batches are checked against.
create table pinned_profiles (
  pipeline text primary key,
  batch_id text not null references batches (batch_id),
  profile jsonb not null,
  created_at timestamptz not null default now()
);

-- A quarantined row fixed by a later batch (refit data push --fixes <batch>).
alter table quarantine add column resolved_by text;

-- How far an incremental source has been read (the last watermark value taken).
create table watermarks (
  pipeline text not null,
  source text not null,
  value text not null,
  batch_id text not null,
  updated_at timestamptz not null default now(),
  primary key (pipeline, source)
);

-- Stream sources (data.source.stream): rows and labels read from JetStream, persisted in numbered
-- segments. One row per pipeline: how far the stream was read (the last stream sequence a
-- committed segment covers), how many segments, and running totals.
create table stream_sources (
  pipeline text primary key,
  -- The JetStream stream read and the subjects rows and labels come from (as last read).
  stream text not null,
  subject text not null,
  labels_subject text not null,
  last_sequence bigint not null default 0,
  segments bigint not null default 0,
  rows_accepted bigint not null default 0,
  rows_quarantined bigint not null default 0,
  labels_joined bigint not null default 0,
  labels_quarantined bigint not null default 0,
  rows_expired bigint not null default 0,
  rows_awaiting_label bigint not null default 0,
  last_segment_at timestamptz,
  created_at timestamptz not null default now()
);

-- Persisted segments, numbered 1, 2, 3… per pipeline without gaps.
create table stream_segments (
  pipeline text not null,
  segment bigint not null,
  first_sequence bigint not null,
  last_sequence bigint not null,
  rows_key text not null,
  rows_sha256 text not null,
  rows_size bigint not null,
  labeled_key text,
  labeled_sha256 text,
  labeled_size bigint,
  rows_accepted int not null,
  rows_quarantined int not null,
  labels_joined int not null,
  labels_quarantined int not null,
  rows_expired int not null,
  spec_version int not null,
  opened_at timestamptz not null,
  closed_at timestamptz not null default now(),
  primary key (pipeline, segment),
  check (first_sequence <= last_sequence)
);

-- Accepted rows waiting for their label. `row` is the typed row's JSON exactly as in the segment's
-- rows (text, not jsonb: written at stream speed, read back only to be copied into a labeled row).
create table stream_pending (
  pipeline text not null,
  id text not null,
  row text not null,
  at timestamptz not null,
  -- When the stream took the row in: a row expires labelWaitHours after this.
  seen_at timestamptz not null,
  segment bigint not null,
  primary key (pipeline, id)
);
create index stream_pending_by_age on stream_pending (pipeline, seen_at);

-- Labels that arrived before their row (labels may overtake rows): kept a bounded time, then
-- quarantined with the reason.
create table stream_orphan_labels (
  pipeline text not null,
  id text not null,
  label jsonb not null,
  label_at timestamptz not null,
  sequence bigint not null,
  raw text not null,
  seen_at timestamptz not null,
  primary key (pipeline, id)
);
create index stream_orphan_labels_by_age on stream_orphan_labels (pipeline, seen_at);

-- Quarantined stream rows and labels belong to the segment that quarantined them, not to a batch:
-- exactly one of the two is set; `line` holds the message's stream sequence.
alter table quarantine alter column batch_id drop not null;
alter table quarantine add column segment bigint;
alter table quarantine add constraint quarantine_batch_or_segment check ((batch_id is null) <> (segment is null));

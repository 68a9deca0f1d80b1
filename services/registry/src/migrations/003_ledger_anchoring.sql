-- Anchoring the decision ledger outside this database (REFIT_LEDGER_KEY). `mac` is HMAC-SHA256 of
-- the entry's hash under a key the database never holds, so a chain recomputed after an edit no
-- longer verifies. Null: recorded while anchoring was off (development), or before it was turned on.
alter table ledger add column mac text;

-- Entries committed but not yet covered by a checkpoint in the object store: a transactional
-- outbox for checkpoints. The append inserts a row in its own transaction; after the commit the
-- checkpointer writes the pipeline's head to the object store and deletes the rows it covered, so
-- a crash between the commit and the write only delays the checkpoint.
create table ledger_checkpoint_due (
  pipeline text not null,
  seq bigint not null,
  primary key (pipeline, seq)
);

-- Where a batch came from: a push, an import, or the deployer's labeled predictions (data.include:
-- [feedback]); a snapshot prefers pushed rows of an entity over its feedback rows.
alter table batches add column source text not null default 'push';

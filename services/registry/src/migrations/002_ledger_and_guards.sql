-- The decision ledger: every trigger, gate verdict, promotion, alias move, rollback and manual
-- override of a pipeline, in order. Each row's hash is sha256(prev_hash || canonical JSON of the
-- row's other fields), so an edited, removed or reordered row breaks the chain (VerifyLedger).
create table ledger (
  pipeline text not null,
  seq bigint not null,
  kind text not null,
  run_id text not null default '',
  actor text not null,
  summary text not null,
  details jsonb not null,
  recorded_at text not null,
  prev_hash text not null,
  hash text not null,
  primary key (pipeline, seq)
);
create index ledger_run on ledger (run_id);

-- Append-only for Refit itself: updates and deletes are refused. Someone who can drop this trigger
-- can still edit rows, which is what the hash chain is for.
create function ledger_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'the decision ledger is append-only';
end $$;
create trigger ledger_append_only before update or delete on ledger for each row execute function ledger_append_only();

-- Aliases a person moved by hand are recorded with who did it.
alter table alias_history add column actor text not null default '';

-- Model versions are immutable: refuse updates and deletes (lineage, verdict and promoted_by are
-- written once, at registration).
create function models_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'model versions are immutable';
end $$;
create trigger models_immutable before update or delete on models for each row execute function models_immutable();

import type pg from 'pg';

type Q = pg.Pool | pg.PoolClient;

/** A recorded policy evaluation. */
export type DecisionRow = {
  id: string;
  pipeline: string;
  policy: string;
  policy_index: number;
  spec_version: number;
  fired: boolean;
  action: string;
  reason: string;
  measured: Record<string, unknown>;
  thresholds: Record<string, unknown>;
  evidence_key: string | null;
  run_id: string | null;
  created_at: Date;
  /** Later evaluations with the same outcome, counted here instead of stored (0: none). */
  repeats?: number;
  last_repeated_at?: Date | null;
  /** The reason of the latest of them. */
  last_reason?: string | null;
};

/** Records a decision; returns false when the same evidence was already decided. */
export async function insertDecision(db: Q, d: Omit<DecisionRow, 'created_at'>): Promise<boolean> {
  const r = await db.query(
    `insert into decisions (id, pipeline, policy, policy_index, spec_version, fired, action, reason, measured, thresholds, evidence_key, run_id, repeats, last_repeated_at, last_reason)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) on conflict (pipeline, policy_index, evidence_key) do nothing`,
    [d.id, d.pipeline, d.policy, d.policy_index, d.spec_version, d.fired, d.action, d.reason, JSON.stringify(d.measured), JSON.stringify(d.thresholds), d.evidence_key, d.run_id, d.repeats ?? 0, d.last_repeated_at ?? null, d.last_reason ?? null],
  );
  return r.rowCount === 1;
}

/** The decision already taken on this evidence, if any. */
export async function decisionByEvidence(db: Q, pipeline: string, policyIndex: number, evidenceKey: string): Promise<DecisionRow | undefined> {
  return (await db.query<DecisionRow>('select * from decisions where pipeline = $1 and policy_index = $2 and evidence_key = $3', [pipeline, policyIndex, evidenceKey])).rows[0];
}

/** The latest decision of one policy of a pipeline. */
export async function latestDecision(db: Q, pipeline: string, policyIndex: number): Promise<DecisionRow | undefined> {
  return (await db.query<DecisionRow>('select * from decisions where pipeline = $1 and policy_index = $2 order by created_at desc, id desc limit 1', [pipeline, policyIndex])).rows[0];
}

/** Counts `times` more evaluations with the decision's outcome on it. */
export async function repeatDecision(db: Q, id: string, at: Date, reason: string, times = 1): Promise<number> {
  const r = await db.query<{ repeats: number }>('update decisions set repeats = repeats + $4, last_repeated_at = $2, last_reason = $3 where id = $1 returning repeats', [id, at, reason, times]);
  return r.rows[0]?.repeats ?? 0;
}

/** Links a decision to the run it started. */
export async function setDecisionRun(db: Q, id: string, runId: string): Promise<void> {
  await db.query('update decisions set run_id = $2 where id = $1', [id, runId]);
}

/** The latest decisions of a pipeline, newest first. */
export async function listDecisions(db: Q, pipeline: string, limit: number): Promise<DecisionRow[]> {
  return (await db.query<DecisionRow>('select * from decisions where pipeline = $1 order by created_at desc, id desc limit $2', [pipeline, limit])).rows;
}

/** A decision by id. */
export async function getDecision(db: Q, id: string): Promise<DecisionRow | undefined> {
  return (await db.query<DecisionRow>('select * from decisions where id = $1', [id])).rows[0];
}

/** Counts consecutive evaluations in which a policy's condition held (reset when it does not). */
export async function bumpConsecutive(db: Q, pipeline: string, policyIndex: number, held: boolean): Promise<number> {
  const r = await db.query<{ consecutive: number }>(
    `insert into policy_state (pipeline, policy_index, consecutive) values ($1, $2, $3)
     on conflict (pipeline, policy_index) do update set consecutive = case when $3 = 1 then policy_state.consecutive + 1 else 0 end
     returning consecutive`,
    [pipeline, policyIndex, held ? 1 : 0],
  );
  return r.rows[0].consecutive;
}

/** The last schedule slot decided for a policy. */
export async function lastSlot(db: Q, pipeline: string, policyIndex: number): Promise<Date | undefined> {
  return (await db.query<{ last_slot: Date | null }>('select last_slot from policy_state where pipeline = $1 and policy_index = $2', [pipeline, policyIndex])).rows[0]?.last_slot ?? undefined;
}

/** Remembers the last decided slot (never moves back). */
export async function setLastSlot(db: Q, pipeline: string, policyIndex: number, slot: Date): Promise<void> {
  await db.query(
    `insert into policy_state (pipeline, policy_index, last_slot) values ($1, $2, $3)
     on conflict (pipeline, policy_index) do update set last_slot = greatest(policy_state.last_slot, excluded.last_slot)`,
    [pipeline, policyIndex, slot],
  );
}

/** The pipeline's data counters and queued decision. */
export type PipelineStateRow = { rows_since_run: string; last_run_rows: string; queued_decision_id: string | null; deferred_decision_id: string | null; deferred_until: Date | null };

/** The pipeline's state row (created on first use), locked for update. */
export async function pipelineState(db: pg.PoolClient, pipeline: string): Promise<PipelineStateRow> {
  await db.query('insert into pipeline_state (pipeline) values ($1) on conflict do nothing', [pipeline]);
  return (await db.query<PipelineStateRow>('select * from pipeline_state where pipeline = $1 for update', [pipeline])).rows[0];
}

/** Adds newly ingested rows. */
export async function addRows(db: Q, pipeline: string, rows: number): Promise<void> {
  await db.query('update pipeline_state set rows_since_run = rows_since_run + $2 where pipeline = $1', [pipeline, rows]);
}

/** Updates the pipeline state. */
export async function updatePipelineState(
  db: Q,
  pipeline: string,
  patch: { rowsSinceRun?: number; lastRunRows?: number; queuedDecisionId?: string | null; deferred?: { decisionId: string; until: Date } | null },
): Promise<void> {
  await db.query(
    `update pipeline_state set rows_since_run = coalesce($2, rows_since_run), last_run_rows = coalesce($3, last_run_rows),
       queued_decision_id = case when $4 then $5 else queued_decision_id end,
       deferred_decision_id = case when $6 then $7 else deferred_decision_id end,
       deferred_until = case when $6 then $8::timestamptz else deferred_until end
     where pipeline = $1`,
    [
      pipeline,
      patch.rowsSinceRun ?? null,
      patch.lastRunRows ?? null,
      patch.queuedDecisionId !== undefined,
      patch.queuedDecisionId ?? null,
      patch.deferred !== undefined,
      patch.deferred?.decisionId ?? null,
      patch.deferred?.until ?? null,
    ],
  );
}

/** Pipelines whose deferred run is due at `now`. */
export async function dueDeferrals(db: Q, now: Date): Promise<string[]> {
  return (await db.query<{ pipeline: string }>('select pipeline from pipeline_state where deferred_until <= $1 order by deferred_until', [now])).rows.map((r) => r.pipeline);
}

/** The facts hygiene needs about a pipeline's runs. */
export async function runFacts(
  db: Q,
  pipeline: string,
  now: Date,
): Promise<{ inFlightRunId?: string; inFlightInRollout: boolean; runsLast24h: number; lastRunEndedAt?: Date; lastTrainedAt?: Date }> {
  const r = await db.query<{ in_flight: string | null; in_rollout: boolean; last24: string; last_end: Date | null; last_trained: Date | null }>(
    // A stream learner's replacement (trigger_kind 'stream') is recorded as a run but is no batch run:
    // batch triggers neither coalesce into it nor count it against maxRunsPerDay.
    `with flight as (select run_id from runs where pipeline = $1 and status = 'running' and trigger_kind <> 'stream' order by created_at desc limit 1)
     select (select run_id from flight) as in_flight,
            -- Registered and not yet served: the candidate passed its gates and is being rolled out.
            exists (select 1 from run_stages s join flight f using (run_id) where s.stage = 'registry' and s.status = 'done')
              and not exists (select 1 from run_stages s join flight f using (run_id) where s.stage = 'deployer') as in_rollout,
            (select count(*) from runs where pipeline = $1 and trigger_kind <> 'stream' and created_at > $2::timestamptz - interval '24 hours') as last24,
            (select max(updated_at) from runs where pipeline = $1 and status <> 'running') as last_end,
            (select max(updated_at) from runs where pipeline = $1 and status = 'succeeded') as last_trained`,
    [pipeline, now],
  );
  const row = r.rows[0];
  return { inFlightRunId: row.in_flight ?? undefined, inFlightInRollout: row.in_rollout, runsLast24h: Number(row.last24), lastRunEndedAt: row.last_end ?? undefined, lastTrainedAt: row.last_trained ?? undefined };
}

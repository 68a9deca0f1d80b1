import type pg from 'pg';

/** A pipeline row. */
export type PipelineRow = { name: string; version: number; spec_json: string; spec_yaml: string; updated_at: Date };
/** A run row. */
export type RunRow = {
  run_id: string;
  pipeline: string;
  spec_version: number;
  status: 'running' | 'succeeded' | 'failed';
  trigger_kind: string;
  reason: string;
  created_at: Date;
  updated_at: Date;
  failed_stage: string | null;
  failure_reason: string | null;
  model_version: string | null;
  outcome: string | null;
  decision: RunDecision;
  decision_id: string | null;
};
/** What the evaluator decided, kept on the run for `refit runs show`. */
export type RunDecision = {
  verdict?: string;
  reasons?: string[];
  candidateMetrics?: Record<string, number>;
  championMetrics?: Record<string, number>;
  championVersion?: string;
};
/** One finished stage of a run. */
export type StageRow = {
  run_id: string;
  stage: string;
  status: string;
  compute_ms: string;
  started_at: Date | null;
  finished_at: Date;
  event_type: string;
  detail: string;
};

type Q = pg.Pool | pg.PoolClient;

/** The pipeline named `name`, locked for update when `forUpdate`. */
export async function getPipeline(db: Q, name: string, forUpdate = false): Promise<PipelineRow | undefined> {
  const r = await db.query<PipelineRow>(`select * from pipelines where name = $1${forUpdate ? ' for update' : ''}`, [name]);
  return r.rows[0];
}

/** Every pipeline, by name. */
export async function listPipelines(db: Q): Promise<PipelineRow[]> {
  return (await db.query<PipelineRow>('select * from pipelines order by name')).rows;
}

/** Writes a new version of a pipeline (and keeps every earlier version). */
export async function savePipelineVersion(db: Q, p: { name: string; version: number; specJson: string; specYaml: string }): Promise<PipelineRow> {
  await db.query('insert into pipeline_versions (name, version, spec_json, spec_yaml) values ($1, $2, $3, $4)', [p.name, p.version, p.specJson, p.specYaml]);
  const r = await db.query<PipelineRow>(
    `insert into pipelines (name, version, spec_json, spec_yaml) values ($1, $2, $3, $4)
     on conflict (name) do update set version = excluded.version, spec_json = excluded.spec_json,
       spec_yaml = excluded.spec_yaml, updated_at = now()
     returning *`,
    [p.name, p.version, p.specJson, p.specYaml],
  );
  return r.rows[0];
}

/** Inserts a new running run. */
export async function insertRun(db: Q, r: { runId: string; pipeline: string; specVersion: number; triggerKind: string; reason: string; decisionId?: string }): Promise<RunRow> {
  const res = await db.query<RunRow>(
    `insert into runs (run_id, pipeline, spec_version, status, trigger_kind, reason, decision_id) values ($1, $2, $3, 'running', $4, $5, $6) returning *`,
    [r.runId, r.pipeline, r.specVersion, r.triggerKind, r.reason, r.decisionId ?? null],
  );
  return res.rows[0];
}

/** The run with this id, locked for update when `forUpdate`. */
export async function getRun(db: Q, runId: string, forUpdate = false): Promise<RunRow | undefined> {
  const r = await db.query<RunRow>(`select * from runs where run_id = $1${forUpdate ? ' for update' : ''}`, [runId]);
  return r.rows[0];
}

/** The latest runs, newest first, optionally of one pipeline. */
export async function listRuns(db: Q, pipeline: string | undefined, limit: number): Promise<RunRow[]> {
  const r = pipeline
    ? await db.query<RunRow>('select * from runs where pipeline = $1 order by created_at desc limit $2', [pipeline, limit])
    : await db.query<RunRow>('select * from runs order by created_at desc limit $1', [limit]);
  return r.rows;
}

/** The stages of these runs, in the order they finished. */
export async function stagesOf(db: Q, runIds: string[]): Promise<StageRow[]> {
  if (runIds.length === 0) return [];
  return (await db.query<StageRow>('select * from run_stages where run_id = any($1) order by finished_at, stage', [runIds])).rows;
}

/** Records a finished stage (once: a repeated event for the same stage changes nothing). */
export async function recordStage(
  db: Q,
  s: { runId: string; stage: string; status: string; computeMs: number; startedAt: Date | null; finishedAt: Date; eventType: string; detail?: string },
): Promise<void> {
  await db.query(
    `insert into run_stages (run_id, stage, status, compute_ms, started_at, finished_at, event_type, detail)
     values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (run_id, stage) do nothing`,
    [s.runId, s.stage, s.status, s.computeMs, s.startedAt, s.finishedAt, s.eventType, s.detail ?? ''],
  );
  await db.query('update runs set updated_at = now() where run_id = $1', [s.runId]);
}

/** Updates a run's outcome fields. */
export async function updateRun(
  db: Q,
  runId: string,
  patch: { status?: RunRow['status']; failedStage?: string; failureReason?: string; modelVersion?: string; outcome?: string; decision?: RunDecision },
): Promise<void> {
  await db.query(
    `update runs set status = coalesce($2, status), failed_stage = coalesce($3, failed_stage),
       failure_reason = coalesce($4, failure_reason), model_version = coalesce($5, model_version),
       outcome = coalesce($6, outcome), decision = coalesce($7, decision), updated_at = now()
     where run_id = $1`,
    [runId, patch.status ?? null, patch.failedStage ?? null, patch.failureReason ?? null, patch.modelVersion ?? null, patch.outcome ?? null, patch.decision ? JSON.stringify(patch.decision) : null],
  );
}

/** The evaluation metric of the run that produced a model version: a performance policy's baseline. */
export async function baselineOf(db: Q, pipeline: string, version: string, metric: string): Promise<number | undefined> {
  const r = await db.query<{ value: number | null }>(
    `select (decision -> 'candidateMetrics' ->> $3)::float8 as value from runs where pipeline = $1 and model_version = $2 order by created_at desc limit 1`,
    [pipeline, version, metric],
  );
  return r.rows[0]?.value ?? undefined;
}

import type { PrequentialLook } from '@refit/ml';
import type pg from 'pg';
import type { DriftState } from './stream-drift.js';

type Q = pg.Pool | pg.PoolClient;

/** Everything the trainer keeps about a pipeline's online learner (one row per pipeline). */
export type LearnerRow = {
  pipeline: string;
  segment: number;
  champion_version: string;
  checkpoint: Buffer | null;
  judge: unknown;
  state: 'learning' | 'proven' | 'reset' | 'waiting';
  updates: number;
  rows_learned: number;
  first_segment: number;
  resets: number;
  replacements: number;
  last_decision: string;
  last_decision_at: Date | null;
  last_replacement_stream_at: Date | null;
  proven_run_id: string;
  evidence: LearnerEvidence | null;
  learning_rate: number;
  transform_drift: number;
  drift_state: DriftState | null;
  recent: Array<[minute: number, rows: number]>;
  updated_at: Date;
};

/** The prequential evidence as stored (the judge's numbers the wire's StreamEvidence carries). */
export type LearnerEvidence = Pick<
  PrequentialLook['evidence'],
  'rows' | 'learnerLogLoss' | 'championLogLoss' | 'improvement' | 'lower' | 'upper' | 'pValue' | 'alpha' | 'learnerAccuracy' | 'championAccuracy'
>;

const COLUMNS = `pipeline, segment::float8 as segment, champion_version, checkpoint, judge, state, updates::float8 as updates, rows_learned::float8 as rows_learned,
  first_segment::float8 as first_segment, resets::float8 as resets, replacements::float8 as replacements, last_decision, last_decision_at,
  last_replacement_stream_at, proven_run_id, evidence, learning_rate, transform_drift, drift_state, recent, updated_at`;

/** The learner of a pipeline, if it has seen a segment. */
export async function getLearner(db: Q, pipeline: string): Promise<LearnerRow | undefined> {
  const { rows } = await db.query<LearnerRow>(`select ${COLUMNS} from stream_learners where pipeline = $1`, [pipeline]);
  return rows[0];
}

/** The learner's state after one segment (every column but the pipeline's key). */
export type LearnerUpdate = Omit<LearnerRow, 'pipeline' | 'updated_at'>;

/**
 * Saves the learner after segment `u.segment`, only if the stored one is still at `previous`
 * (undefined: no row yet). False when another replica applied a segment first: the caller's work
 * is stale and must be done again from what is stored.
 */
export async function saveLearner(db: Q, pipeline: string, previous: number | undefined, u: LearnerUpdate): Promise<boolean> {
  const values = [
    pipeline, u.segment, u.champion_version, u.checkpoint, u.judge === null ? null : JSON.stringify(u.judge), u.state, u.updates, u.rows_learned, u.first_segment,
    u.resets, u.replacements, u.last_decision, u.last_decision_at, u.last_replacement_stream_at, u.proven_run_id, u.evidence === null ? null : JSON.stringify(u.evidence),
    u.learning_rate, u.transform_drift, JSON.stringify(u.recent), u.drift_state === null ? null : JSON.stringify(u.drift_state),
  ];
  if (previous === undefined) {
    const { rowCount } = await db.query(
      `insert into stream_learners (pipeline, segment, champion_version, checkpoint, judge, state, updates, rows_learned, first_segment, resets, replacements,
         last_decision, last_decision_at, last_replacement_stream_at, proven_run_id, evidence, learning_rate, transform_drift, recent, drift_state)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) on conflict (pipeline) do nothing`,
      values,
    );
    return rowCount === 1;
  }
  const { rowCount } = await db.query(
    `update stream_learners set segment = $2, champion_version = $3, checkpoint = $4, judge = $5, state = $6, updates = $7, rows_learned = $8, first_segment = $9,
       resets = $10, replacements = $11, last_decision = $12, last_decision_at = $13, last_replacement_stream_at = $14, proven_run_id = $15, evidence = $16,
       learning_rate = $17, transform_drift = $18, recent = $19, drift_state = $20, updated_at = now()
     where pipeline = $1 and segment = $21`,
    [...values, previous],
  );
  return rowCount === 1;
}

/**
 * Makes sure the learner of a pipeline has a row, placed just before `segment` when it is new: the
 * first segment the trainer sees is where the learner's order starts, so a later segment that
 * comes while this one is retried waits for it instead of being taken as the first.
 */
export async function ensureLearner(db: Q, pipeline: string, segment: number): Promise<void> {
  await db.query(`insert into stream_learners (pipeline, segment, last_decision) values ($1, $2, 'waiting for its first segment') on conflict (pipeline) do nothing`, [pipeline, segment - 1]);
}

/**
 * Records a segment the learner could not apply (its event dead-lettered: the reason is logged and
 * kept on the dead-letter subject) as passed, with the reason as the last decision, so the segments
 * after it are learned instead of waiting for it forever. Only when it is the next one.
 */
export async function skipSegment(db: Q, pipeline: string, segment: number, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `update stream_learners set segment = $2, last_decision = $3, last_decision_at = now(), updated_at = now() where pipeline = $1 and segment = $2 - 1`,
    [pipeline, segment, `segment ${segment} was not learned from: ${reason}`.slice(0, 2000)],
  );
  return rowCount === 1;
}

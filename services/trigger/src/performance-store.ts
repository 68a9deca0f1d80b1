import type pg from 'pg';
import type { PerformanceState } from './performance.js';

/**
 * The performance test of a pipeline's policy for one served version, locked until the
 * transaction ends (two replicas handling windows of the same version queue on it); undefined
 * before its first window.
 */
export async function lockPerformanceState(tx: pg.PoolClient, pipeline: string, policyIndex: number, version: string): Promise<PerformanceState | undefined> {
  const r = await tx.query<{ state: PerformanceState }>('select state from performance_tests where pipeline = $1 and policy_index = $2 and version = $3 for update', [pipeline, policyIndex, version]);
  if (r.rows[0]) return r.rows[0].state;
  // No row to lock yet: serialize the first windows of a version on an advisory lock instead.
  await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`performance:${pipeline}:${policyIndex}:${version}`]);
  return (await tx.query<{ state: PerformanceState }>('select state from performance_tests where pipeline = $1 and policy_index = $2 and version = $3', [pipeline, policyIndex, version])).rows[0]?.state;
}

/** Stores the test's state after a window. */
export async function savePerformanceState(tx: pg.PoolClient, pipeline: string, policyIndex: number, version: string, state: PerformanceState): Promise<void> {
  await tx.query(
    `insert into performance_tests (pipeline, policy_index, version, state) values ($1, $2, $3, $4)
     on conflict (pipeline, policy_index, version) do update set state = excluded.state, updated_at = now()`,
    [pipeline, policyIndex, version, JSON.stringify(state)],
  );
}

/** The latest test state of a policy (the most recently updated version), for `triggers explain`. */
export async function latestPerformanceState(db: pg.Pool | pg.PoolClient, pipeline: string, policyIndex: number): Promise<{ version: string; state: PerformanceState } | undefined> {
  const r = await db.query<{ version: string; state: PerformanceState }>(
    'select version, state from performance_tests where pipeline = $1 and policy_index = $2 order by updated_at desc limit 1',
    [pipeline, policyIndex],
  );
  return r.rows[0];
}

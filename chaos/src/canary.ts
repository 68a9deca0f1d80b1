import { connect as connectClients } from '@refit/cli';
import { equals } from '@bufbuild/protobuf';
import { RunStatus, StepAnalysisSchema, type Rollout, type StepAnalysis } from '@refit/contracts';
import { processName } from '@refit/stack';
import pg from 'pg';
import type { Harness } from './harness.js';

/** Live traffic: raw rows and their true labels. */
export type Traffic = { rows: Array<Record<string, number>>; labels: number[] };

/** One round of traffic: what each deployer process answered at the rollout's step. */
export type CanaryRound = { round: number; step: number; weight: number; share: Record<string, { canary: number; rows: number }>; judged: boolean };

/** What driving a canary found. */
export type CanaryReport = { rounds: CanaryRound[]; status: string; disagreements: string[] };

const probeSchema = 'chaos_probe';

/**
 * Records every update of the deployer's `rollouts` table (each analysis writes the row once: held,
 * next step, or decided) in a table of the harness, with the time: one analysis per tick means
 * as many updates as ticks, whatever the number of deployers.
 */
export async function installRolloutProbe(h: Harness): Promise<void> {
  const table = `${pg.escapeIdentifier(`${h.ns.schemaPrefix}deployer`)}.rollouts`;
  await h.pool.query(`
    create schema if not exists ${probeSchema};
    create table if not exists ${probeSchema}.rollout_updates (at timestamptz not null default clock_timestamp(), step int, status text, outcome text);
    create or replace function ${probeSchema}.note_rollout() returns trigger language plpgsql as $$
      begin insert into ${probeSchema}.rollout_updates (step, status, outcome) values (new.step, new.status, new.last_outcome); return new; end $$;
    drop trigger if exists chaos_probe on ${table};
    create trigger chaos_probe after update on ${table} for each row execute function ${probeSchema}.note_rollout();`);
}

/** Waits until the probe has seen `n` updates of the rollout (analyses) or `timeoutMs` passed. */
export async function waitAnalyses(h: Harness, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await h.pool.query<{ n: string }>(`select count(*) as n from ${probeSchema}.rollout_updates where status = 'active'`);
    if (Number(rows[0].n) >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Analyses per tick while the rollout was active: updates of the row over the ticks of that period. */
export async function analysesPerTick(h: Harness, tickMs: number): Promise<{ analyses: number; periodMs: number; ticks: number; perTick: number | null }> {
  const { rows } = await h.pool.query<{ n: string; first: Date | null; last: Date | null }>(
    `select count(*) as n, min(at) as first, max(at) as last from ${probeSchema}.rollout_updates where status = 'active'`,
  );
  const n = Number(rows[0].n);
  const periodMs = rows[0].first && rows[0].last ? rows[0].last.getTime() - rows[0].first.getTime() : 0;
  // The first update opens the period: n updates over periodMs span periodMs / tickMs + 1 ticks.
  const ticks = Math.round(periodMs / tickMs) + 1;
  return { analyses: n, periodMs, ticks, perTick: n > 0 ? n / ticks : null };
}

/** Whether two reads of a rollout carry the same last analysis (none on both counts as the same). */
const sameAnalysis = (a: StepAnalysis | undefined, b: StepAnalysis | undefined): boolean => (a && b ? equals(StepAnalysisSchema, a, b) : a === b);

const rolloutOf = async (h: Harness, pipeline: string): Promise<Rollout | undefined> => (await h.c.deployer.getRollout({ pipeline }, { timeoutMs: 5000 }).catch(() => undefined))?.rollout;

/**
 * Waits until the rollout of `runId` is active; otherwise says why not once the run has ended
 * without one (the registry's reason for moving the champion), or after `timeoutMs`.
 */
export async function waitRolloutActive(h: Harness, pipeline: string, runId: string, timeoutMs: number): Promise<{ active: true } | { active: false; why: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await rolloutOf(h, pipeline);
    if (r?.runId === runId && r.status === 'active') return { active: true };
    const run = (await h.c.trigger.getRun({ runId }, { timeoutMs: 5000 }).catch(() => undefined))?.run;
    if (run && run.status !== RunStatus.RUNNING) {
      const { rows } = await h.pool.query<{ reason: string }>(
        `select reason from ${pg.escapeIdentifier(`${h.ns.schemaPrefix}registry`)}.alias_history where run_id = $1 and alias = 'champion' order by id desc limit 1`,
        [runId],
      );
      return { active: false, why: `the run ended ${run.outcome || RunStatus[run.status].toLowerCase()} without one${rows[0] ? `; the registry moved the champion because: ${rows[0].reason}` : ''}` };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return { active: false, why: `not within ${timeoutMs / 1000} s` };
}

/** Within 5 binomial standard deviations of the step's weight (at 0 % and 100 % exactly). */
export const shareAgrees = (canary: number, rows: number, weightPct: number): boolean => {
  const w = weightPct / 100;
  return rows > 0 && Math.abs(canary / rows - w) <= 5 * Math.sqrt((w * (1 - w)) / rows) + 1e-9;
};

/**
 * Serves the traffic to every deployer process in turn (each on its own address), sends the true
 * labels, and repeats until the rollout is decided or `maxRounds`. Each round where the step did
 * not move meanwhile is judged: every process must answer the step's weight from the candidate.
 */
export async function driveCanary(h: Harness, o: { pipeline: string; runId: string; traffic: Traffic; maxRounds: number }): Promise<CanaryReport> {
  const procs = h.stack.replicaAddresses.deployer.map((address, r) => ({ name: processName('deployer', r), client: connectClients({ ...h.stack.env, REFIT_DEPLOYER_ADDR: address }).deployer }));
  const rounds: CanaryRound[] = [];
  const disagreements: string[] = [];
  let r = await rolloutOf(h, o.pipeline);
  try {
    for (let round = 1; round <= o.maxRounds && r?.runId === o.runId && r.status === 'active'; round++) {
      const before = r;
      const ids: string[] = [];
      const labels: number[] = [];
      const share: CanaryRound['share'] = {};
      for (const p of procs) {
        const res = await p.client.predict({ pipeline: o.pipeline, rows: o.traffic.rows }, { timeoutMs: 30_000 }).catch(() => undefined);
        if (!res) continue;
        share[p.name] = { canary: res.predictions.filter((x) => x.variant === 'canary').length, rows: res.predictions.length };
        res.predictions.forEach((x, i) => {
          ids.push(x.predictionId);
          labels.push(o.traffic.labels[i]);
        });
      }
      await h.c.deployer.sendFeedback({ pipeline: o.pipeline, feedback: ids.map((predictionId, i) => ({ predictionId, label: labels[i] })) }, { timeoutMs: 30_000 }).catch(() => undefined);
      r = await rolloutOf(h, o.pipeline);
      const judged = r?.step === before.step && r.status === 'active';
      rounds.push({ round, step: before.step, weight: before.weight, share, judged });
      if (judged) {
        for (const [name, s] of Object.entries(share)) {
          if (!shareAgrees(s.canary, s.rows, before.weight)) disagreements.push(`${name} answered ${((100 * s.canary) / s.rows).toFixed(0)} % from the candidate at step ${before.step + 1} (weight ${before.weight} %)`);
        }
      }
      // Let an analysis see this round's labels before serving more (one runs every tick).
      const seen = r?.lastAnalysis;
      const deadline = Date.now() + 5000;
      while (r?.status === 'active' && r.step === before.step && sameAnalysis(r.lastAnalysis, seen) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 250));
        r = await rolloutOf(h, o.pipeline);
      }
    }
    return { rounds, status: r?.runId === o.runId ? r.status : 'no rollout of the run', disagreements };
  } finally {
    for (const p of procs) p.client.close();
  }
}

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { connect as connectClients, dataPush, type Clients, type Io } from '@refit/cli';
import type { Run } from '@refit/contracts';
import { auditNamespace, REPO_ROOT, startStack, waitQuiet, type NamespaceAudit, type Stack, type StackOptions } from '@refit/stack';
import { connect as natsConnect, type NatsConnection } from 'nats';
import pg from 'pg';

/** A scenario's own namespace (schemas, stream, subjects, bucket) on its own private infrastructure. */
export type Namespace = { schemaPrefix: string; stream: string; subjectPrefix: string; bucket: string };

/** The namespace of scenario `name` (`kill-trainer` → schemas `chaos_kill_trainer_*`, stream `CHAOS_KILL_TRAINER`). */
export function namespaceOf(name: string): Namespace {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  return { schemaPrefix: `chaos_${slug}_`, stream: `CHAOS_${slug.toUpperCase()}`, subjectPrefix: `chaos_${slug}`, bucket: `chaos-${slug.replaceAll('_', '-')}` };
}

/**
 * Settings every scenario runs with. The ack wait is 5 s instead of the default 30 s: a message
 * whose handler was killed is redelivered after it, so every kill would otherwise add 25 s.
 */
export const CHAOS_SETTINGS: Record<string, string> = { REFIT_ACK_WAIT_MS: '5000', REFIT_LOG_LEVEL: 'info' };

/** A stack started for one scenario, with what the harness needs to drive and inspect it. */
export type Harness = {
  name: string;
  stack: Stack;
  ns: Namespace;
  /** gRPC clients as the admin (REFIT_*_ADDR of the stack: every replica, failing over). */
  c: Clients;
  /** NATS as the stack's admin user, reconnecting forever (NATS may be restarted under it). */
  nc: NatsConnection;
  /** Postgres of the stack (errors of idle clients during a Postgres restart are ignored). */
  pool: pg.Pool;
  /** Prints a line prefixed with the scenario's name. */
  say: (line: string) => void;
  /** Counts of what the namespace holds now. */
  audit(): Promise<NamespaceAudit>;
  /** Stops the stack and removes its data (the logs stay). */
  close(): Promise<void>;
};

/** Starts a fresh stack on private infrastructure for scenario `name`. */
export async function startHarness(name: string, opts: Pick<StackOptions, 'replicas' | 'env'> & { say: (line: string) => void }): Promise<Harness> {
  const ns = namespaceOf(name);
  const workDir = join(REPO_ROOT, '.refit', 'chaos', name);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const say = (line: string) => opts.say(`[${name}] ${line}`);
  const env = { ...CHAOS_SETTINGS, REFIT_SCHEMA_PREFIX: ns.schemaPrefix, REFIT_STREAM: ns.stream, REFIT_SUBJECT_PREFIX: ns.subjectPrefix, REFIT_S3_BUCKET: ns.bucket, ...opts.env };
  const started = Date.now();
  // The stack's output: the first line of each supervision note (the whole note is in the service's log).
  const stack = await startStack({ env, workDir, privateInfra: true, replicas: opts.replicas, startTimeoutS: 240, log: (l) => say(l.split('\n')[0]) });
  say(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (logs in ${stack.logDir})`);
  const nc = await natsConnect({ servers: stack.env.REFIT_NATS_URL, user: stack.env.REFIT_NATS_USER, pass: stack.env.REFIT_NATS_PASSWORD, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const pool = new pg.Pool({ connectionString: stack.env.REFIT_PG_URL, max: 4 });
  pool.on('error', () => undefined);
  const c = connectClients(stack.env);
  return {
    name,
    stack,
    ns,
    c,
    nc,
    pool,
    say,
    audit: () => auditNamespace({ pgUrl: stack.env.REFIT_PG_URL, schemaPrefix: ns.schemaPrefix, nc, stream: ns.stream }),
    async close() {
      await nc.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await stack.stop();
      for (const d of ['postgres', 'nats-data', 's3']) rmSync(join(workDir, d), { recursive: true, force: true });
    },
  };
}

/** The CLI's output, silenced: the harness prints its own lines. */
export const QUIET: Io = { json: true, progress: false, out: () => undefined, err: () => undefined };

/** Applies a spec given as YAML text. */
export async function applySpec(h: Harness, specYaml: string): Promise<void> {
  await h.c.trigger.applyPipeline({ specYaml });
}

/** Pushes a CSV file as a batch; returns the accepted rows. */
export async function push(h: Harness, pipeline: string, file: string): Promise<number> {
  return Number((await dataPush(h.c, QUIET, pipeline, file)).rowsAccepted);
}

/** Triggers a run and returns its id. */
export async function trigger(h: Harness, pipeline: string, reason: string): Promise<string> {
  const { run } = await h.c.trigger.triggerRun({ pipeline, reason });
  if (!run?.runId) throw new Error(`TriggerRun of ${pipeline} returned no run`);
  return run.runId;
}

/** When a finished run finished (its last update), ms since the epoch. */
export const finishedAt = (run: Run): number => (run.updatedAt ? timestampDate(run.updatedAt).getTime() : Date.now());
/** When a run was created, ms since the epoch. */
export const createdAt = (run: Run): number => (run.createdAt ? timestampDate(run.createdAt).getTime() : 0);

/**
 * Waits until the namespace has settled after a run: every consumer caught up, every outbox
 * published, every work queue drained (the audit says what is left after `timeoutMs`).
 */
export async function settle(h: Harness, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const quiet = await waitQuiet(h.nc, { stream: h.ns.stream, timeoutMs: Math.max(0, deadline - Date.now()) });
    const a = await h.audit().catch(() => undefined);
    if (quiet && a && Object.keys(a.unpublished).length === 0 && Object.keys(a.queued).length === 0) return;
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `handled_events` rows of one consumer (of `service`'s schema). */
export async function handledCount(h: Harness, service: string, durable: string): Promise<number> {
  const { rows } = await h.pool.query<{ n: string }>(`select count(*) as n from ${pg.escapeIdentifier(`${h.ns.schemaPrefix}${service}`)}.handled_events where consumer = $1`, [durable]);
  return Number(rows[0].n);
}

/** Supervision restarts per process so far, e.g. `{ trainer: 1 }`. */
export function restartsOf(stack: Stack): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of stack.exits) if (!e.requested) out[e.process] = (out[e.process] ?? 0) + 1;
  return out;
}

/** Waits until the process with `pid` has been seen exiting by the stack's supervision. */
export async function waitExit(stack: Stack, pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!stack.exits.some((e) => e.pid === pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves after `ms`: the length of an outage, not a wait for a condition. */
export const outage = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

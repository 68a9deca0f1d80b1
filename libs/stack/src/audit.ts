import type { NatsConnection } from 'nats';
import pg from 'pg';
import { readEvents } from '@refit/testing';
import { HEADER_CONSUMER, HEADER_ERROR, HEADER_EVENT_ID } from '@refit/platform';
import { SERVICES } from './stack.js';

/** One durable consumer: what the stream holds for it and what the service recorded as handled. */
export type ConsumerAudit = {
  durable: string;
  filter: string;
  /** Messages in the stream its filter matches. */
  inStream: number;
  /** Rows of `handled_events` for it (dead letters included: a dead letter is handled too). */
  handled: number;
  /** Messages not yet delivered to it. */
  pending: number;
  /** Messages delivered and not yet acknowledged. */
  ackPending: number;
};

/** What a namespace holds: the numbers a run under faults must share with a clean run. */
export type NamespaceAudit = {
  /** Rows of each service table, `registry.models` → 1 (the platform's outbox and handled_events apart). */
  rows: Record<string, number>;
  /** Events written to the outboxes, per service and type: `trainer ModelTrained` → 1. */
  events: Record<string, number>;
  /** Events handled, per consumer and type: `evaluator-model-trained ModelTrained` → 1. */
  handled: Record<string, number>;
  /** Outbox rows not published yet, per service (only services with some). */
  unpublished: Record<string, number>;
  /** Rows of queues of work still to do after a commit (see {@link WORK_QUEUES}), only those with some. */
  queued: Record<string, number>;
  /** Dead letters the services wrote (outbox rows on `<prefix>.dlq.*`), with their reason. */
  deadLetters: Array<{ service: string; subject: string; error: string }>;
  /** Stream messages per subject. */
  stream: Record<string, number>;
  /** Stream messages whose event id (`Refit-Event-Id`) an earlier message already had. */
  duplicateStreamEvents: number;
  /** Every durable consumer of the stream. */
  consumers: ConsumerAudit[];
};

/** Where a namespace lives. */
export type AuditTarget = {
  pgUrl: string;
  /** REFIT_SCHEMA_PREFIX, e.g. `chaos_kill_trainer_`. */
  schemaPrefix: string;
  /** A connection allowed to read the stream and its consumers (the stack's admin user). */
  nc: NatsConnection;
  stream: string;
};

const shortType = (t: string): string => t.split('.').at(-1) ?? t;

/**
 * Tables that are queues of work to do after a commit, like an outbox: empty once a namespace has
 * settled, so they are checked for being drained rather than counted.
 */
export const WORK_QUEUES: Readonly<Record<string, string>> = Object.freeze({
  'registry.ledger_checkpoint_due': 'ledger entries not yet checkpointed to the object store',
});

/** True when `subject` matches a NATS filter (`*` one token, `>` the rest). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

async function streamAudit(nc: NatsConnection, stream: string): Promise<Pick<NamespaceAudit, 'stream' | 'duplicateStreamEvents' | 'consumers'>> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream, { subjects_filter: '>' });
  const subjects = (info.state.subjects ?? {}) as Record<string, number>;
  // Every message's event id, read through a throw-away consumer that acknowledges nothing.
  const ids = new Set<string>();
  let duplicates = 0;
  for (const m of await readEvents(nc, { stream })) {
    const id = m.headers[HEADER_EVENT_ID] ?? '';
    if (id && ids.has(id)) duplicates++;
    ids.add(id);
  }
  const consumers: ConsumerAudit[] = [];
  for await (const c of jsm.consumers.list(stream)) {
    if (!c.config.durable_name) continue;
    const filter = c.config.filter_subject ?? '>';
    const inStream = Object.entries(subjects).reduce((n, [subject, count]) => n + (subjectMatches(filter, subject) ? count : 0), 0);
    consumers.push({ durable: c.config.durable_name, filter, inStream, handled: 0, pending: c.num_pending, ackPending: c.num_ack_pending });
  }
  consumers.sort((a, b) => a.durable.localeCompare(b.durable));
  return { stream: subjects, duplicateStreamEvents: duplicates, consumers };
}

/**
 * Counts what a namespace holds after a run: rows per table, events per type written and handled,
 * unpublished outbox rows, dead letters, and for each durable consumer the stream's messages
 * against the rows it recorded as handled (each event handled once: the two are equal).
 */
export async function auditNamespace(t: AuditTarget): Promise<NamespaceAudit> {
  const client = new pg.Client({ connectionString: t.pgUrl });
  await client.connect();
  try {
    const schema = (s: string) => pg.escapeIdentifier(`${t.schemaPrefix}${s}`);
    const tables = await client.query<{ schema: string; table: string }>(
      `select table_schema as schema, table_name as table from information_schema.tables
       where table_type = 'BASE TABLE' and table_schema = any($1) order by 1, 2`,
      [SERVICES.map((s) => `${t.schemaPrefix}${s}`)],
    );
    const rows: Record<string, number> = {};
    const queued: Record<string, number> = {};
    for (const { schema: sch, table } of tables.rows) {
      if (['outbox', 'handled_events', 'schema_migrations'].includes(table)) continue;
      const { rows: r } = await client.query<{ n: string }>(`select count(*) as n from ${pg.escapeIdentifier(sch)}.${pg.escapeIdentifier(table)}`);
      const name = `${sch.slice(t.schemaPrefix.length)}.${table}`;
      if (!(name in WORK_QUEUES)) rows[name] = Number(r[0].n);
      else if (Number(r[0].n) > 0) queued[name] = Number(r[0].n);
    }
    const present = new Set(tables.rows.filter((r) => r.table === 'outbox').map((r) => r.schema.slice(t.schemaPrefix.length)));
    const services = SERVICES.filter((s) => present.has(s));
    const outboxes = services.map((s) => `select '${s}' as service, id::text as id, type, subject, headers, published_at from ${schema(s)}.outbox`).join(' union all ');
    const events: Record<string, number> = {};
    const unpublished: Record<string, number> = {};
    const deadLetters: NamespaceAudit['deadLetters'] = [];
    const handled: Record<string, number> = {};
    const handledPerConsumer = new Map<string, number>();
    if (services.length > 0) {
      const ob = await client.query<{ service: string; type: string; subject: string; headers: Record<string, string>; published: boolean }>(
        `select service, type, subject, headers, published_at is not null as published from (${outboxes}) o`,
      );
      for (const e of ob.rows) {
        const k = `${e.service} ${shortType(e.type)}`;
        events[k] = (events[k] ?? 0) + 1;
        if (!e.published) unpublished[e.service] = (unpublished[e.service] ?? 0) + 1;
        if (/\.dlq\./.test(e.subject)) deadLetters.push({ service: e.service, subject: e.subject, error: `${e.headers[HEADER_CONSUMER] ?? '?'}: ${e.headers[HEADER_ERROR] ?? '(no reason)'}` });
      }
      const handledSql = services.map((s) => `select consumer, event_id from ${schema(s)}.handled_events`).join(' union all ');
      const h = await client.query<{ consumer: string; type: string | null; n: string }>(
        `select h.consumer, o.type, count(*) as n from (${handledSql}) h left join (${outboxes}) o on o.id = h.event_id group by 1, 2 order by 1, 2`,
      );
      for (const r of h.rows) {
        handled[`${r.consumer} ${r.type ? shortType(r.type) : '(not from an outbox)'}`] = Number(r.n);
        handledPerConsumer.set(r.consumer, (handledPerConsumer.get(r.consumer) ?? 0) + Number(r.n));
      }
    }
    const s = await streamAudit(t.nc, t.stream);
    for (const c of s.consumers) c.handled = handledPerConsumer.get(c.durable) ?? 0;
    return { rows, events, handled, unpublished, queued, deadLetters, stream: s.stream, duplicateStreamEvents: s.duplicateStreamEvents, consumers: s.consumers };
  } finally {
    await client.end();
  }
}

/** Options of {@link auditProblems}. */
export type AuditCheck = {
  /** Dead letters the scenario expects (none by default). */
  expectDeadLetters?: boolean;
};

/**
 * What is wrong with a namespace on its own: events left unpublished, dead letters, an event in
 * the stream twice, a consumer that has not handled every event of its subject exactly once (a
 * consumer of every subject: not more than the stream holds).
 */
export function auditProblems(a: NamespaceAudit, check: AuditCheck = {}): string[] {
  const problems: string[] = [];
  for (const [service, n] of Object.entries(a.unpublished)) problems.push(`${n} event(s) left unpublished in the ${service} outbox`);
  for (const [table, n] of Object.entries(a.queued)) problems.push(`${n} ${WORK_QUEUES[table] ?? `row(s) left in ${table}`} (${table})`);
  if (!check.expectDeadLetters) for (const d of a.deadLetters) problems.push(`dead letter from ${d.service} (${d.error})`);
  if (a.duplicateStreamEvents > 0) problems.push(`${a.duplicateStreamEvents} event(s) stored twice in the stream`);
  for (const c of a.consumers) {
    if (c.pending > 0 || c.ackPending > 0) problems.push(`consumer ${c.durable} still has ${c.pending} undelivered and ${c.ackPending} unacknowledged event(s)`);
    // A consumer of every subject (`<prefix>.>`) takes only its own events (accept) and acknowledges
    // the rest unrecorded: it must not record more than the stream holds; how many it handled of
    // each type is compared with a clean run's (compareAudits).
    const everySubject = /^[^.]+\.>$/.test(c.filter);
    if (everySubject ? c.handled > c.inStream : c.handled !== c.inStream) problems.push(`consumer ${c.durable} recorded ${c.handled} handled event(s) for the ${c.inStream} in the stream`);
  }
  return problems;
}

/**
 * Counts that differ from a clean run's: rows per table, events written per type, events handled
 * per consumer and type. Keys matching `volatile` (e.g. throttled progress events, whose number
 * depends on timing) are left out.
 */
export function compareAudits(clean: NamespaceAudit, got: NamespaceAudit, volatile: readonly RegExp[] = VOLATILE): string[] {
  const problems: string[] = [];
  const compare = (what: string, a: Record<string, number>, b: Record<string, number>) => {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (volatile.some((v) => v.test(k))) continue;
      const x = a[k] ?? 0;
      const y = b[k] ?? 0;
      if (x !== y) problems.push(`${what} ${k}: ${y}, a clean run has ${x}`);
    }
  };
  compare('rows of', clean.rows, got.rows);
  compare('events written', clean.events, got.events);
  compare('events handled by', clean.handled, got.handled);
  return problems;
}

/**
 * Counts that depend on timing, not on correctness: training progress is throttled by the clock,
 * and a lease row exists once some replica has taken that singleton work (a lease table says who
 * holds what, not what happened).
 */
export const VOLATILE: readonly RegExp[] = [/ TrainingProgress$/, /^[a-z]+\.leases$/];

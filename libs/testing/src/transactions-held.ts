import type pg from 'pg';

/** A transaction open in Postgres, as `pg_stat_activity` shows it. */
export interface OpenTransaction {
  pid: number;
  /** `active`, `idle in transaction`… */
  state: string;
  /** When the transaction began (Postgres' clock). */
  xactStart: Date;
  /** The last statement it ran. */
  query: string;
}

/** Options of {@link transactionsHeldThrough}. */
export interface HeldThroughOptions {
  /** `application_name` of the connections to look at: a service's pool is `refit:<schema>`. */
  applicationName: string;
  /** Length of the interval watched, in ms of Postgres' clock (default 1000). */
  ms?: number;
}

/**
 * The transactions of the connections named `applicationName` that were open when called and are
 * still open `ms` later (Postgres' clock): the same transaction held through the whole interval.
 * While long work is in progress, a service that holds a transaction through it shows that
 * transaction here; one that works outside transactions shows none, as its short transactions
 * (an outbox relay, a progress beat) come and go within the interval. Query it through a pool
 * that is not the service's. The interval only stretches on a loaded machine; the answer does not
 * depend on it as long as the work stays in progress meanwhile.
 */
export async function transactionsHeldThrough(db: pg.Pool | pg.ClientBase, opts: HeldThroughOptions): Promise<OpenTransaction[]> {
  const ms = opts.ms ?? 1000;
  const from = (await db.query<{ t: Date }>('select clock_timestamp() as t')).rows[0].t;
  for (;;) {
    const { rows } = await db.query<{ passed: boolean }>('select clock_timestamp() >= $1::timestamptz + make_interval(secs => $2) as passed', [from, ms / 1000]);
    if (rows[0].passed) break;
    await new Promise((r) => setTimeout(r, Math.min(50, ms)));
  }
  const { rows } = await db.query<{ pid: number; state: string; xact_start: Date; query: string }>(
    `select pid, state, xact_start, query from pg_stat_activity
      where application_name = $1 and xact_start is not null and xact_start < $2 and pid <> pg_backend_pid()`,
    [opts.applicationName, from],
  );
  return rows.map((r) => ({ pid: r.pid, state: r.state, xactStart: r.xact_start, query: r.query }));
}

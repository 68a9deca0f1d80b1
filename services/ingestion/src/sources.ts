import pg from 'pg';
import { FailedPreconditionError, UnavailableError, watchClient } from '@refit/platform';
import type { PgImport } from './import-access.js';

/** Rows read per Postgres page: memory stays bounded however large the table. */
export const PG_PAGE_ROWS = 5000;
/** How long connecting to a source database may take. */
const PG_CONNECT_MS = 10_000;
/** SQLSTATEs told apart: query_canceled (what statement_timeout raises), read_only_sql_transaction. */
const QUERY_CANCELED = '57014';
const READ_ONLY = '25006';

/** A watermark value as text that Postgres reads back as the column's type. */
const wmText = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/** The failure of a source query as the caller reads it: which limit or rule stopped it. */
function queryFailure(imp: PgImport, e: unknown): FailedPreconditionError {
  const { name, statementTimeoutMs } = imp.connection;
  const code = (e as { code?: unknown }).code;
  const msg = (e as Error).message;
  if (code === QUERY_CANCELED) {
    return new FailedPreconditionError(
      `the ${imp.what} of source '${name}' ran past its statement timeout of ${statementTimeoutMs} ms (statementTimeoutMs in REFIT_IMPORT_SOURCES): import fewer rows at a time (a watermark column), or ask an admin to raise the limit`,
      { cause: e, details: { source: name, statementTimeoutMs } },
    );
  }
  if (code === READ_ONLY) return new FailedPreconditionError(`source '${name}' is read-only: ${imp.what} tried to write (${msg}); imports only read`, { cause: e, details: { source: name } });
  return new FailedPreconditionError(`the ${imp.what} of source '${name}' failed: ${msg}`, { cause: e, details: { source: name } });
}

/**
 * Reads a declared Postgres table or query as JSON lines, page by page in watermark order, taking
 * only rows past `after` (every row when there is no watermark column). Rows sharing the last
 * watermark value of a page are all read before moving on, so none is skipped at a page boundary.
 * `done()` then tells the highest watermark read.
 *
 * Everything runs in one read-only transaction (repeatable read, so pages agree with each other)
 * under the connection's `statement_timeout`, and every statement goes through the extended
 * protocol, which runs exactly one statement.
 */
export function pgChunks(imp: PgImport, after: string | undefined): { chunks: AsyncIterable<Uint8Array>; done: () => string | undefined } {
  const wm = imp.watermark;
  let last = after;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const client = new pg.Client({ connectionString: imp.connection.url, connectionTimeoutMillis: PG_CONNECT_MS, application_name: 'refit-ingestion-import' });
    // A source restarting mid-read must fail this import, not crash the service with an unhandled 'error'.
    watchClient(client);
    try {
      await client.connect();
    } catch (e) {
      // The URL may hold a password: name the variable it came from instead.
      throw new UnavailableError(`cannot connect to source '${imp.connection.name}' (${imp.connection.urlEnv}): ${(e as Error).message}`, { cause: e });
    }
    const run = async (sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> => {
      try {
        // queryMode 'extended' (pg's option, missing from @types/pg): a prepared statement even without params.
        return (await client.query<Record<string, unknown>>({ text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig)).rows;
      } catch (e) {
        throw queryFailure(imp, e);
      }
    };
    const lines = (rows: Array<Record<string, unknown>>): Uint8Array => Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    try {
      await run('begin isolation level repeatable read read only', []);
      await run("select set_config('statement_timeout', $1, true)", [String(imp.connection.statementTimeoutMs)]);
      if (!wm) {
        yield lines(await run(`select * from ${imp.from} as src`, []));
        return;
      }
      for (;;) {
        const page = await run(
          `select * from ${imp.from} as src where ${last === undefined ? 'true' : `src.${wm.sql} > $2`} and src.${wm.sql} is not null order by src.${wm.sql} limit $1`,
          last === undefined ? [PG_PAGE_ROWS] : [PG_PAGE_ROWS, last],
        );
        if (page.length === 0) return;
        const top = page[page.length - 1][wm.column];
        const topText = wmText(top);
        if (page.length < PG_PAGE_ROWS) {
          yield lines(page);
          last = topText;
          return;
        }
        // The page may have cut the rows sharing its last value: take all of them in one go.
        yield lines(page.filter((r) => wmText(r[wm.column]) !== topText));
        yield lines(await run(`select * from ${imp.from} as src where src.${wm.sql} = $1`, [top]));
        last = topText;
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { chunks: chunks(), done: () => last };
}

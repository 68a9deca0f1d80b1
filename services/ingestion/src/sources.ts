import pg from 'pg';
import { createArtifactStore, FailedPreconditionError, InvalidInputError, UnavailableError, type S3Config, type ServiceRuntime } from '@refit/platform';

/** Rows read per Postgres page: memory stays bounded however large the table. */
export const PG_PAGE_ROWS = 5000;
/** How long connecting to a source database may take. */
const PG_CONNECT_MS = 10_000;

/** Splits `s3://bucket/key`. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new InvalidInputError(`'${uri}' is not an S3 address: expected s3://bucket/key`);
  return { bucket: m[1], key: m[2] };
}

/** Streams an S3 object, from the service's bucket or any other the service's credentials can read. */
export async function s3Chunks(rt: ServiceRuntime, s3: S3Config, uri: string): Promise<AsyncIterable<Uint8Array>> {
  const { bucket, key } = parseS3Uri(uri);
  const store = bucket === rt.store.bucket ? rt.store : createArtifactStore({ ...s3, bucket });
  return (await store.getStream(key)) as AsyncIterable<Uint8Array>;
}

/** A Postgres source as the request gives it. */
export type PgSource = { url: string; table: string; query: string; watermarkColumn: string };

const ident = (name: string): string =>
  name
    .split('.')
    .map((p) => {
      if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(p)) throw new InvalidInputError(`'${name}' is not a plain table or column name (letters, digits, _ and one optional schema.)`);
      return `"${p}"`;
    })
    .join('.');

/** The key a source's watermark is stored under (never the password). */
export function sourceKey(s: PgSource): string {
  let where = s.url;
  try {
    const u = new URL(s.url);
    u.password = '';
    where = u.toString();
  } catch {
    // not a URL: keep it as given
  }
  return `postgres:${where}:${s.table || s.query}:${s.watermarkColumn}`;
}

/** A watermark value as text that Postgres reads back as the column's type. */
const wmText = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/**
 * Reads a Postgres table or query as JSON lines, page by page in watermark order, taking only rows
 * past `after` (every row when there is no watermark column). Rows sharing the last watermark
 * value of a page are all read before moving on, so none is skipped at a page boundary.
 * `done()` then tells the highest watermark read.
 */
export function pgChunks(s: PgSource, after: string | undefined): { chunks: AsyncIterable<Uint8Array>; done: () => string | undefined } {
  if (!s.url) throw new InvalidInputError('postgres.url is required (postgres://user@host:port/db)');
  if (!!s.table === !!s.query) throw new InvalidInputError('give exactly one of postgres.table and postgres.query');
  const from = s.table ? ident(s.table) : `(${s.query.trim().replace(/;\s*$/, '')})`;
  const wm = s.watermarkColumn ? ident(s.watermarkColumn) : undefined;
  let last = after;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const client = new pg.Client({ connectionString: s.url, connectionTimeoutMillis: PG_CONNECT_MS });
    try {
      await client.connect();
    } catch (e) {
      throw new UnavailableError(`cannot connect to the source database ${sourceKey(s).split(':').slice(1, -2).join(':')}: ${(e as Error).message}`, { cause: e });
    }
    const run = async (sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> => {
      try {
        return (await client.query<Record<string, unknown>>(sql, params)).rows;
      } catch (e) {
        throw new FailedPreconditionError(`the source query failed: ${(e as Error).message}`, { cause: e });
      }
    };
    const lines = (rows: Array<Record<string, unknown>>): Uint8Array => Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    try {
      if (!wm) {
        yield lines(await run(`select * from ${from} as src`, []));
        return;
      }
      for (;;) {
        const page = await run(
          `select * from ${from} as src where ${last === undefined ? 'true' : `src.${wm} > $2`} and src.${wm} is not null order by src.${wm} limit $1`,
          last === undefined ? [PG_PAGE_ROWS] : [PG_PAGE_ROWS, last],
        );
        if (page.length === 0) return;
        const key = s.watermarkColumn.split('.').pop() as string;
        const top = page[page.length - 1][key];
        const topText = wmText(top);
        if (page.length < PG_PAGE_ROWS) {
          yield lines(page);
          last = topText;
          return;
        }
        // The page may have cut the rows sharing its last value: take all of them in one go.
        yield lines(page.filter((r) => wmText(r[key]) !== topText));
        yield lines(await run(`select * from ${from} as src where src.${wm} = $1`, [top]));
        last = topText;
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { chunks: chunks(), done: () => last };
}

/**
 * Turns what an ImportData request names into a declared source, or refuses it saying what is
 * declared and how to declare more. Nothing a caller sends reaches SQL except a column name that
 * is checked to be a plain identifier and then quoted.
 */
import { InvalidInputError } from '@refit/platform';
import type { ImportSources, PgImportSource, S3ImportSource } from './import-sources.js';
import { parseS3Uri, s3KeyProblem } from './s3-keys.js';

/** An S3 object a declared source allows. */
export type S3Import = { source: S3ImportSource; key: string };

/** How to get a source declared, for every refusal. */
const howToDeclare = (section: string): string => `ask an admin to declare it under ${section} in the ingestion service's import sources (the file REFIT_IMPORT_SOURCES names)`;

/** `s3://b/p1/, s3://b/p2/ (name); …`: what a caller may import from S3. */
export function allowedS3(sources: ImportSources): string {
  if (sources.s3.length === 0) return 'none (no S3 source is declared)';
  return sources.s3.map((s) => `${s.prefixes.map((p) => `s3://${s.bucket}/${p}`).join(', ')} (${s.name})`).join('; ');
}

/**
 * The declared source an `s3://bucket/key` address falls under (the longest matching prefix wins).
 *
 * @throws InvalidInputError for a malformed key, the platform's own bucket, or an address no
 *   declared source covers.
 */
export function resolveS3Import(sources: ImportSources, platformBucket: string, uri: string): S3Import {
  const { bucket, key } = parseS3Uri(uri);
  const problem = s3KeyProblem(key);
  if (problem) throw new InvalidInputError(`${uri}: the key ${problem}; give the object's plain key`, { details: { uri } });
  const allowed = allowedS3(sources);
  if (bucket === platformBucket) {
    throw new InvalidInputError(
      `s3://${bucket}/ is the platform's own bucket (every pipeline's batches, snapshots and models) and is never an import source; allowed: ${allowed}. To import other data, ${howToDeclare('s3: (a bucket and key prefixes)')}`,
      { details: { uri, allowed } },
    );
  }
  let best: { source: S3ImportSource; prefix: string } | undefined;
  for (const source of sources.s3) {
    if (source.bucket !== bucket) continue;
    for (const prefix of source.prefixes) if (key.startsWith(prefix) && prefix.length > (best?.prefix.length ?? -1)) best = { source, prefix };
  }
  if (!best) {
    throw new InvalidInputError(`${uri} is not in a declared import source; allowed: ${allowed}. To import it, ${howToDeclare('s3: (its bucket and a key prefix)')}`, {
      details: { uri, allowed },
    });
  }
  return { source: best.source, key };
}

/** The Postgres fields of an ImportData request. */
export type PgRequest = { connection: string; table: string; queryName: string; watermarkColumn: string; url: string; query: string };

/** A read of a declared table or query, ready to run. */
export type PgImport = {
  /** The declared connection. */
  connection: PgImportSource;
  /** `table 'public.t'` or `query 'recent'`, for messages. */
  what: string;
  /** SQL of the rows: the quoted table, or the admin's query as a subquery. */
  from: string;
  /** The watermark column: as the rows name it, and quoted for SQL. */
  watermark?: { column: string; sql: string };
  /** Key the watermark is stored under (names only, never the URL). */
  sourceKey: string;
  /** The batch's filename: `warehouse/public.t` or `warehouse/query recent`. */
  label: string;
};

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const quote = (ident: string): string => `"${ident.replaceAll('"', '""')}"`;
const list = (xs: readonly string[]): string => (xs.length > 0 ? xs.join(', ') : 'none');
const connections = (sources: ImportSources): string =>
  sources.postgres.length > 0 ? `declared: ${list(sources.postgres.map((c) => c.name))}` : `none is declared: ${howToDeclare('postgres:')}`;

/** The request's deprecated fields, read only to refuse them. */
function refuseSupplied(sources: ImportSources, req: PgRequest): void {
  if (req.url) {
    throw new InvalidInputError(
      `postgres.url is not accepted: the service connects only to connections an admin declared (REFIT_IMPORT_SOURCES); name one with postgres.connection (${connections(sources)})`,
      { details: { field: 'postgres.url' } },
    );
  }
  if (req.query) {
    const declared = sources.postgres.filter((c) => !req.connection || c.name === req.connection).map((c) => `connection '${c.name}' declares: ${list(Object.keys(c.queries))}`);
    throw new InvalidInputError(
      `postgres.query (SQL) is not accepted: SQL is never taken from a request; name a query an admin declared with postgres.query_name (${declared.join('; ') || connections(sources)}), or a declared table with postgres.table`,
      { details: { field: 'postgres.query' } },
    );
  }
}

/**
 * The declared table or query a Postgres request names, with its watermark column checked.
 *
 * @throws InvalidInputError for a URL or SQL in the request, an undeclared connection, table or
 *   query, or a watermark column that is not a plain identifier.
 */
export function resolvePgImport(sources: ImportSources, req: PgRequest): PgImport {
  refuseSupplied(sources, req);
  if (!req.connection) throw new InvalidInputError(`postgres.connection is required: name a declared connection (${connections(sources)})`, { details: { field: 'postgres.connection' } });
  const connection = sources.postgres.find((c) => c.name === req.connection);
  if (!connection) throw new InvalidInputError(`no postgres connection '${req.connection}' is declared (${connections(sources)})`, { details: { field: 'postgres.connection' } });
  if (!!req.table === !!req.queryName) throw new InvalidInputError('give exactly one of postgres.table and postgres.query_name');
  const how = (field: string): string => `an admin adds it to the ${field} of connection '${connection.name}' in the file REFIT_IMPORT_SOURCES names`;
  if (req.watermarkColumn && !COLUMN.test(req.watermarkColumn)) {
    throw new InvalidInputError(`postgres.watermark_column '${req.watermarkColumn}' is not a plain column name (letters, digits and _, not starting with a digit)`, { details: { field: 'postgres.watermark_column' } });
  }
  const watermark = req.watermarkColumn ? { column: req.watermarkColumn, sql: quote(req.watermarkColumn) } : undefined;
  const wm = req.watermarkColumn;
  if (req.table) {
    if (!connection.tables.includes(req.table)) {
      throw new InvalidInputError(`table '${req.table}' is not declared for connection '${connection.name}'; allowed: ${list(connection.tables)} (${how('tables:')})`, { details: { field: 'postgres.table' } });
    }
    return { connection, what: `table '${req.table}'`, from: req.table.split('.').map(quote).join('.'), watermark, sourceKey: `postgres:${connection.name}:table:${req.table}:${wm}`, label: `${connection.name}/${req.table}` };
  }
  const sql = Object.hasOwn(connection.queries, req.queryName) ? connection.queries[req.queryName] : undefined;
  if (sql === undefined) {
    throw new InvalidInputError(`no query '${req.queryName}' is declared for connection '${connection.name}'; declared: ${list(Object.keys(connection.queries))} (${how('queries:')})`, { details: { field: 'postgres.query_name' } });
  }
  return { connection, what: `query '${req.queryName}'`, from: `(${sql})`, watermark, sourceKey: `postgres:${connection.name}:query:${req.queryName}:${wm}`, label: `${connection.name}/query ${req.queryName}` };
}

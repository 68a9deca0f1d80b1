/**
 * The data sources ImportData may read, as an admin declares them in a YAML or JSON file
 * (`REFIT_IMPORT_SOURCES`). A request names one of them; it never supplies a URL, credentials or
 * SQL of its own. Credentials are not in the file: each source names the environment variables
 * (filled from a secret) that hold them.
 *
 * ```yaml
 * s3:
 *   - { name: exports, bucket: partner-exports, prefixes: [weather/, sales/2026/] }
 * postgres:
 *   - name: warehouse
 *     urlEnv: REFIT_IMPORT_PG_WAREHOUSE
 *     tables: [public.weather_daily]
 *     queries: { recent: "select * from public.weather_daily where region = 'nw'" }
 *     statementTimeoutMs: 30000
 * ```
 */
import { readFileSync } from 'node:fs';
import { InvalidInputError, type S3Config } from '@refit/platform';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { s3KeyProblem } from './s3-keys.js';

/** An S3 source: the key prefixes of one bucket that may be imported. */
export interface S3ImportSource {
  /** Name shown in messages (`name`; lower-case letters, digits, `_`, `-`). */
  readonly name: string;
  /** The bucket (`bucket`); never the platform's own (`REFIT_S3_BUCKET`). */
  readonly bucket: string;
  /** Key prefixes that may be read (`prefixes`, each ending in `/`; at least one). */
  readonly prefixes: readonly string[];
  /**
   * Where and how to read the bucket: `endpointEnv`, `accessKeyEnv`, `secretKeyEnv` name the
   * variables holding the endpoint URL and keys (default the service's own `REFIT_S3_*`, keys only
   * with the service's own endpoint); `region` default `REFIT_S3_REGION`.
   */
  readonly s3: Readonly<S3Config>;
}

/** A Postgres connection and what may be read through it. */
export interface PgImportSource {
  /** Name a request gives as `postgres.connection` (`name`). */
  readonly name: string;
  /** The variable holding the connection URL (`urlEnv`), named in messages instead of the URL. */
  readonly urlEnv: string;
  /** The connection URL (the value of `urlEnv`; a secret: never shown). */
  readonly url: string;
  /** Tables a request may name, `schema.table` or `table` (`tables`, default none). */
  readonly tables: readonly string[];
  /** Admin-written SELECTs a request may name (`queries`: name → SQL, default none). */
  readonly queries: Readonly<Record<string, string>>;
  /** `statement_timeout` of every statement an import runs (`statementTimeoutMs`, default 30000). */
  readonly statementTimeoutMs: number;
}

/** Every declared import source. */
export interface ImportSources {
  /** The file they came from (`REFIT_IMPORT_SOURCES`); absent when none is configured. */
  readonly file?: string;
  /** S3 sources (`s3:`, default none). */
  readonly s3: readonly S3ImportSource[];
  /** Postgres connections (`postgres:`, default none). */
  readonly postgres: readonly PgImportSource[];
}

/** Default `statementTimeoutMs` of a Postgres source. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IDENT = '[A-Za-z_][A-Za-z0-9_$]{0,62}';
const TABLE = new RegExp(`^${IDENT}(\\.${IDENT})?$`);

const name = z.string().regex(NAME, 'expected a name of lower-case letters, digits, _ and - (starting with a letter)');
const envName = z.string().regex(ENV_NAME, 'expected the name of an environment variable (upper-case letters, digits and _)');
const prefix = z.string().superRefine((p, ctx) => {
  const problem = p.endsWith('/') ? s3KeyProblem(p.slice(0, -1)) : `must end with '/' (a folder such as exports/)`;
  if (problem) ctx.addIssue({ code: 'custom', message: `prefix '${p}' ${problem}` });
});

const S3_SOURCE = z.strictObject({
  name,
  bucket: z.string().regex(BUCKET, 'expected an S3 bucket name (3-63 lower-case letters, digits, . and -)'),
  prefixes: z.array(prefix).min(1, 'list at least one key prefix, e.g. [exports/]'),
  endpointEnv: envName.optional(),
  accessKeyEnv: envName.optional(),
  secretKeyEnv: envName.optional(),
  region: z.string().regex(/^[a-z0-9-]+$/, 'expected a region such as us-east-1').optional(),
});

const PG_SOURCE = z.strictObject({
  name,
  urlEnv: envName,
  tables: z.array(z.string().regex(TABLE, 'expected a table name, schema.table or table (letters, digits, _ and $)')).default([]),
  queries: z
    .record(name, z.string().trim().min(1, 'expected a SELECT'))
    .default({})
    .refine((q) => Object.values(q).every((sql) => !/\$\d/.test(sql)), 'a declared query takes no parameters ($1…): write the values into it'),
  statementTimeoutMs: z.number().int().min(1).max(3_600_000).default(DEFAULT_STATEMENT_TIMEOUT_MS),
});

const FILE = z.strictObject({ s3: z.array(S3_SOURCE).default([]), postgres: z.array(PG_SOURCE).default([]) });

/** `postgres[0].tables[1]`: a zod issue path as a reader of the file writes it. */
const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}${acc ? '.' : ''}${String(p)}`), '') || '(top level)';

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((i) =>
    i.code === 'unrecognized_keys' ? `${pathText(i.path)}: unknown field ${i.keys.map((k) => `'${k}'`).join(', ')}` : `${pathText(i.path)}: ${i.message}`,
  );
}

/** Where the service's own settings apply unless a source names its own. */
export type ImportSourceDefaults = {
  /** Variables the `…Env` fields name. */
  env: Readonly<Record<string, string | undefined>>;
  /** The service's own object store settings (`REFIT_S3_*`); its bucket is never a source. */
  platformS3: Readonly<S3Config>;
  /** The file's path, for messages. */
  file: string;
};

/** Reads a variable a source names; records a problem (never the value: it is a secret) when unusable. */
function fromEnv(env: ImportSourceDefaults['env'], at: string, variable: string, problems: string[], check?: (v: string) => string | undefined): string {
  const value = env[variable]?.trim() ?? '';
  const problem = value ? check?.(value) : `${variable} is not set: set it from a secret`;
  if (problem) problems.push(`${at}: ${problem}`);
  return value;
}

const isUrl = (v: string, protocols: string[]): boolean => URL.canParse(v) && protocols.includes(new URL(v).protocol);

function s3Source(s: z.infer<typeof S3_SOURCE>, at: string, d: ImportSourceDefaults, problems: string[]): S3ImportSource {
  if (s.bucket === d.platformS3.bucket) {
    problems.push(`${at}.bucket: '${s.bucket}' is the platform's own bucket (REFIT_S3_BUCKET), which holds every pipeline's batches, snapshots and models; it is never an import source: put the data in another bucket`);
  }
  if (!!s.accessKeyEnv !== !!s.secretKeyEnv) problems.push(`${at}: give both accessKeyEnv and secretKeyEnv, or neither (the service's own keys)`);
  // The service's own keys are never sent to another endpoint: that endpoint would learn them.
  if (s.endpointEnv && !s.accessKeyEnv) problems.push(`${at}: a source with endpointEnv needs accessKeyEnv and secretKeyEnv (the service's own keys are only used with its own endpoint)`);
  let endpoint: Pick<S3Config, 'endPoint' | 'port' | 'useSSL'> = d.platformS3;
  if (s.endpointEnv) {
    const raw = fromEnv(d.env, `${at}.endpointEnv`, s.endpointEnv, problems, (v) => (isUrl(v, ['http:', 'https:']) ? undefined : `${s.endpointEnv} is not an http(s) URL such as https://s3.example.com`));
    if (isUrl(raw, ['http:', 'https:'])) {
      const u = new URL(raw);
      const useSSL = u.protocol === 'https:';
      endpoint = { endPoint: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? (useSSL ? 443 : 80) : Number(u.port), useSSL };
    }
  }
  const accessKey = s.accessKeyEnv ? fromEnv(d.env, `${at}.accessKeyEnv`, s.accessKeyEnv, problems) : d.platformS3.accessKey;
  const secretKey = s.secretKeyEnv ? fromEnv(d.env, `${at}.secretKeyEnv`, s.secretKeyEnv, problems) : d.platformS3.secretKey;
  const s3 = Object.freeze({ endPoint: endpoint.endPoint, port: endpoint.port, useSSL: endpoint.useSSL, accessKey, secretKey, bucket: s.bucket, region: s.region ?? d.platformS3.region });
  return Object.freeze({ name: s.name, bucket: s.bucket, prefixes: Object.freeze([...s.prefixes]), s3 });
}

function pgSource(s: z.infer<typeof PG_SOURCE>, at: string, d: ImportSourceDefaults, problems: string[]): PgImportSource {
  if (s.tables.length === 0 && Object.keys(s.queries).length === 0) problems.push(`${at}: declare at least one of tables and queries`);
  const url = fromEnv(d.env, `${at}.urlEnv`, s.urlEnv, problems, (v) => (isUrl(v, ['postgres:', 'postgresql:']) ? undefined : `${s.urlEnv} is not a postgres:// URL`));
  // A trailing ';' is harmless on its own but breaks the query once it is read as a subquery.
  const queries = Object.fromEntries(Object.entries(s.queries).map(([k, sql]) => [k, sql.replace(/;\s*$/, '').trim()]));
  return Object.freeze({ name: s.name, urlEnv: s.urlEnv, url, tables: Object.freeze([...s.tables]), queries: Object.freeze(queries), statementTimeoutMs: s.statementTimeoutMs });
}

function duplicates(names: string[], at: string): string[] {
  return names.flatMap((n, i) => (names.indexOf(n) < i ? [`${at}[${i}].name: '${n}' is declared twice`] : []));
}

/**
 * Parses and checks an import sources file (YAML or JSON) and resolves the credentials its
 * sources name.
 *
 * @throws InvalidInputError naming the file and, for each problem, the field (`postgres[0].urlEnv`).
 */
export function parseImportSources(text: string, d: ImportSourceDefaults): ImportSources {
  const where = `REFIT_IMPORT_SOURCES ${d.file}`;
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (e) {
    throw new InvalidInputError(`${where} is not valid YAML or JSON: ${(e as Error).message}`, { cause: e, details: { file: d.file } });
  }
  const parsed = FILE.safeParse(raw);
  if (!parsed.success) throw invalid(where, d.file, zodProblems(parsed.error));
  const problems: string[] = [];
  const s3 = parsed.data.s3.map((s, i) => s3Source(s, `s3[${i}]`, d, problems));
  const postgres = parsed.data.postgres.map((s, i) => pgSource(s, `postgres[${i}]`, d, problems));
  problems.push(...duplicates(s3.map((s) => s.name), 's3'), ...duplicates(postgres.map((s) => s.name), 'postgres'));
  if (problems.length > 0) throw invalid(where, d.file, problems);
  return Object.freeze({ file: d.file, s3: Object.freeze(s3), postgres: Object.freeze(postgres) });
}

const invalid = (where: string, file: string, problems: string[]): InvalidInputError =>
  new InvalidInputError(`${where} is invalid:\n  - ${problems.join('\n  - ')}`, { details: { file, problems } });

/**
 * The import sources of the file `REFIT_IMPORT_SOURCES` names; none when it is unset (ImportData
 * then refuses every request, saying how to declare a source).
 *
 * @throws InvalidInputError when the file cannot be read or is invalid (see {@link parseImportSources}).
 */
export function loadImportSources(env: Readonly<Record<string, string | undefined>>, platformS3: Readonly<S3Config>): ImportSources {
  const file = env.REFIT_IMPORT_SOURCES?.trim();
  if (!file) return Object.freeze({ s3: [], postgres: [] });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidInputError(`REFIT_IMPORT_SOURCES=${file}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e, details: { variable: 'REFIT_IMPORT_SOURCES', file } });
  }
  return parseImportSources(text, { env, platformS3, file });
}

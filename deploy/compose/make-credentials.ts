/**
 * Makes what deploy/compose/docker-compose.yml reads, next to it: `.refit/` (the local stack's
 * credentials layout: a CA, a certificate and an event key per service, the token issuer and an
 * admin token, NATS passwords, the ledger key) and `.env` (every password the compose file requires,
 * and the user the services run as). Nothing is downloaded; what exists is kept, so running it
 * again changes nothing.
 *
 *   node --conditions=@refit/source --import tsx deploy/compose/make-credentials.ts [--host <name>]…
 *
 * `--host` adds a name or address the service certificates are valid for, besides each service's
 * compose name, localhost, 127.0.0.1 and ::1 (for clients on other machines; certificates that
 * exist are not reissued: delete `.refit/services/` first).
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLocalCredentials, envSafePassword } from '@refit/platform';

/** The image's `node` user, which the services run as when this script runs as root. */
const IMAGE_UID = 1000;


/** `KEY=value` lines of an env file (comments and blank lines skipped); empty when it is missing. */
export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

/** Gives every file and folder under `dir` (and `dir`) to `uid:gid`. */
function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}

/** Options of {@link makeComposeCredentials}. */
export type ComposeCredentialsOptions = {
  /** Folder of the compose file; `.refit/` and `.env` are made in it. */
  dir: string;
  /** Extra names and addresses the service certificates are valid for. Default none. */
  hosts?: readonly string[];
};

/** What {@link makeComposeCredentials} made. */
export type ComposeCredentials = {
  /** The `.env` file and its variables. */
  envFile: string;
  env: Record<string, string>;
  /** The credentials folder (`REFIT_HOME` for the CLI). */
  home: string;
};

/** Makes (or completes) `.refit/` and `.env` in `opts.dir`. */
export async function makeComposeCredentials(opts: ComposeCredentialsOptions): Promise<ComposeCredentials> {
  const home = join(opts.dir, '.refit');
  const credentials = await ensureLocalCredentials(home, { hosts: ['localhost', '127.0.0.1', '::1', ...(opts.hosts ?? [])] });

  // Env-safe (ensureLocalCredentials makes them so): compose hands them to nats-server through the environment.
  const passwords = credentials.natsPasswords;

  // Bind-mounted keys are 0600: the containers run as their owner. As root, they go to the image's user.
  const root = process.getuid?.() === 0;
  if (root) chownTree(home, IMAGE_UID, IMAGE_UID);
  const uid = root ? IMAGE_UID : (process.getuid?.() ?? IMAGE_UID);
  const gid = root ? IMAGE_UID : (process.getgid?.() ?? IMAGE_UID);

  const envFile = join(opts.dir, '.env');
  const old = readEnvFile(envFile);
  const env: Record<string, string> = {
    REFIT_POSTGRES_PASSWORD: old.REFIT_POSTGRES_PASSWORD || envSafePassword(),
    REFIT_S3_ACCESS_KEY: old.REFIT_S3_ACCESS_KEY || `refit${randomBytes(6).toString('hex')}`,
    REFIT_S3_SECRET_KEY: old.REFIT_S3_SECRET_KEY || envSafePassword(),
    ...Object.fromEntries(Object.entries(passwords).map(([user, pw]) => [`REFIT_NATS_${user.toUpperCase()}_PASSWORD`, pw])),
    REFIT_UID: String(uid),
    REFIT_GID: String(gid),
    REFIT_PUBLISH_ADDRESS: old.REFIT_PUBLISH_ADDRESS || '127.0.0.1',
  };
  const header = [
    '# Made by deploy/compose/make-credentials.ts: the passwords deploy/compose/docker-compose.yml requires.',
    '# NATS passwords mirror .refit/nats/passwords.json. Keep this file to yourself; it is not in git.',
    '# REFIT_PUBLISH_ADDRESS: where the gRPC ports are published (0.0.0.0 for other machines, with --host names).',
  ];
  writeFileSync(envFile, [...header, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ''].join('\n'), { mode: 0o600 });
  return { envFile, env, home };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const hosts: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--host' && args[i + 1]) hosts.push(args[++i]);
    else throw new Error(`unknown argument ${JSON.stringify(args[i])}: usage: make-credentials.ts [--host <name>]…`);
  }
  const made = await makeComposeCredentials({ dir: fileURLToPath(new URL('.', import.meta.url)), hosts });
  console.log(`credentials in ${made.home}, passwords in ${made.envFile}`);
  console.log('start:  docker-compose -f deploy/compose/docker-compose.yml up --build');
  console.log(`CLI:    REFIT_HOME=${made.home} npx refit …   (admin, through the published ports)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

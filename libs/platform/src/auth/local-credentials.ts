/**
 * The security material of a local stack, made once under one folder (`.refit/` by default) and
 * reused at every start: a development CA, a certificate and an event key per service, the token
 * issuer's key pair and an admin token, NATS passwords and the ledger key. Private keys are
 * written 0600. The layout is what the services' `REFIT_*` settings and the CLI look for:
 *
 * ```
 * ca/ca.crt, ca/ca.key                 the CA (keep ca.key to yourself)
 * services/<name>/{ca.crt,tls.crt,tls.key,event.key}   REFIT_TLS_DIR, REFIT_EVENT_KEY
 * event-keys/<name>.pub.pem            REFIT_EVENT_KEYS_DIR
 * tokens/issuer.key, issuer.pub.pem    refit auth token / REFIT_TOKEN_PUBLIC_KEY
 * admin.token                          the CLI's credential
 * nats/passwords.json                  one password per NATS user
 * ledger.key                           REFIT_LEDGER_KEY (the registry's ledger MAC key)
 * ```
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PORTS } from '../config.js';
import { NATS_USERS } from '../nats/authorization.js';
import { createCa, issueCertificate, type PemPair } from './pki.js';
import { TLS_FILES } from './tls.js';
import { issueToken } from './tokens.js';

/** What {@link ensureLocalCredentials} made or found. */
export type LocalCredentials = {
  /** The folder. */
  dir: string;
  /** `REFIT_*` settings of one service (TLS, event keys, token key, NATS user, ledger key). */
  serviceEnv(service: string): Record<string, string>;
  /** Settings of a CLI or client with admin rights: `REFIT_TLS_CA` and `REFIT_TOKEN_FILE`. */
  cliEnv: Record<string, string>;
  /** Password of each NATS user (`trigger` … `deployer`, `external`, `admin`). */
  natsPasswords: Record<string, string>;
};

/** Options of {@link ensureLocalCredentials}. */
export type LocalCredentialsOptions = {
  /** Host names and addresses the service certificates are valid for (default `localhost`, `127.0.0.1`, `::1`, plus the service's name). */
  hosts?: readonly string[];
  /** Lifetime of the admin token in days (default 365). */
  adminTokenDays?: number;
};

const writeSecret = (path: string, data: string | Buffer): void => writeFileSync(path, data, { mode: 0o600 });

/**
 * A password every consumer takes verbatim: nats-server parses a value it substitutes from the
 * environment as config, so one starting with a digit or `-` could turn into a number.
 */
export const envSafePassword = (): string => `n${randomBytes(24).toString('hex')}`;
const ENV_SAFE = /^[A-Za-z][A-Za-z0-9_]*$/;

function edKeyPair(): { key: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), pub: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Makes whatever is missing under `dir` and returns how to use it. */
export async function ensureLocalCredentials(dir: string, opts: LocalCredentialsOptions = {}): Promise<LocalCredentials> {
  const p = (...parts: string[]): string => join(dir, ...parts);
  for (const d of ['ca', 'services', 'event-keys', 'tokens', 'nats']) mkdirSync(p(d), { recursive: true, mode: 0o700 });

  let ca: PemPair;
  if (existsSync(p('ca', 'ca.key'))) {
    ca = { cert: readFileSync(p('ca', 'ca.crt'), 'utf8'), key: readFileSync(p('ca', 'ca.key'), 'utf8') };
  } else {
    ca = await createCa();
    writeFileSync(p('ca', 'ca.crt'), ca.cert);
    writeSecret(p('ca', 'ca.key'), ca.key);
  }

  const services = Object.keys(DEFAULT_PORTS);
  for (const s of services) {
    const sd = p('services', s);
    mkdirSync(sd, { recursive: true, mode: 0o700 });
    if (!existsSync(join(sd, TLS_FILES.key))) {
      const pair = await issueCertificate(ca, { service: s, hosts: [s, ...(opts.hosts ?? ['localhost', '127.0.0.1', '::1'])] });
      writeFileSync(join(sd, TLS_FILES.ca), ca.cert);
      writeFileSync(join(sd, TLS_FILES.cert), pair.cert);
      writeSecret(join(sd, TLS_FILES.key), pair.key);
    }
    if (!existsSync(join(sd, 'event.key'))) {
      const kp = edKeyPair();
      writeSecret(join(sd, 'event.key'), kp.key);
      writeFileSync(p('event-keys', `${s}.pub.pem`), kp.pub);
    }
  }

  if (!existsSync(p('tokens', 'issuer.key'))) {
    const kp = edKeyPair();
    writeSecret(p('tokens', 'issuer.key'), kp.key);
    writeFileSync(p('tokens', 'issuer.pub.pem'), kp.pub);
  }
  if (!existsSync(p('admin.token'))) {
    const { createPrivateKey } = await import('node:crypto');
    const token = await issueToken({ privateKey: createPrivateKey(readFileSync(p('tokens', 'issuer.key'))), name: 'admin', roles: ['admin'], ttlSeconds: (opts.adminTokenDays ?? 365) * 86_400 });
    writeSecret(p('admin.token'), `${token}\n`);
  }

  const pwFile = p('nats', 'passwords.json');
  let natsPasswords: Record<string, string> = existsSync(pwFile) ? (JSON.parse(readFileSync(pwFile, 'utf8')) as Record<string, string>) : {};
  if (NATS_USERS.some((u) => !ENV_SAFE.test(natsPasswords[u] ?? ''))) {
    natsPasswords = Object.fromEntries(NATS_USERS.map((u) => [u, ENV_SAFE.test(natsPasswords[u] ?? '') ? natsPasswords[u] : envSafePassword()]));
    writeSecret(pwFile, JSON.stringify(natsPasswords, null, 2));
  }
  if (!existsSync(p('ledger.key'))) writeSecret(p('ledger.key'), randomBytes(32));

  return {
    dir,
    serviceEnv: (s) => ({
      REFIT_TLS_DIR: p('services', s),
      REFIT_EVENT_KEY: p('services', s, 'event.key'),
      REFIT_EVENT_KEYS_DIR: p('event-keys'),
      REFIT_TOKEN_PUBLIC_KEY: p('tokens', 'issuer.pub.pem'),
      REFIT_NATS_USER: s,
      REFIT_NATS_PASSWORD: natsPasswords[s],
      ...(s === 'registry' ? { REFIT_LEDGER_KEY: p('ledger.key') } : {}),
    }),
    cliEnv: { REFIT_TLS_CA: p('ca', 'ca.crt'), REFIT_TOKEN_FILE: p('admin.token') },
    natsPasswords,
  };
}

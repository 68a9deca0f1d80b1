import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findRefitHome, isRole, issueCertificate, issueToken, MAX_TOKEN_TTL_S, ROLES, type Role } from '@refit/platform/auth';
import { InvalidInputError } from '@refit/platform/client';

/** Where the issuing keys are: `--home`, `REFIT_HOME`, or the nearest `.refit/` folder. */
function home(opt: string | undefined): string {
  const dir = opt ?? process.env.REFIT_HOME ?? findRefitHome();
  if (!dir) throw new InvalidInputError('no .refit/ folder found here or above (npm run stack makes one); give --home <dir> or REFIT_HOME');
  return resolve(dir);
}

/** `30d`, `12h`, `90m`, `3600s` or a number of seconds. */
export function parseTtl(v: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m) throw new InvalidInputError(`--ttl '${v}': give a duration such as 30d, 12h or 3600s`);
  const s = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (s < 60 || s > MAX_TOKEN_TTL_S) throw new InvalidInputError(`--ttl '${v}': between 60 s and ${MAX_TOKEN_TTL_S / 86_400} days`);
  return s;
}

function roles(list: string[]): Role[] {
  const bad = list.filter((r) => !isRole(r));
  if (list.length === 0 || bad.length > 0) throw new InvalidInputError(`--role ${bad.join(', ') || '(none)'}: give one or more of ${ROLES.join(', ')}`);
  return list as Role[];
}

/** Options of `refit auth token`. */
export type AuthTokenOptions = { name: string; role: string[]; ttl: string; home?: string };

/** `refit auth token`: prints a bearer token signed with the issuer key of `--home`. */
export async function authToken(o: AuthTokenOptions): Promise<void> {
  const keyFile = join(home(o.home), 'tokens', 'issuer.key');
  if (!existsSync(keyFile)) throw new InvalidInputError(`${keyFile} is missing: tokens are issued where the issuer key is kept`);
  const token = await issueToken({ privateKey: createPrivateKey(readFileSync(keyFile)), name: o.name, roles: roles(o.role), ttlSeconds: parseTtl(o.ttl) });
  console.log(token);
}

/** Options of `refit auth cert`. */
export type AuthCertOptions = { name: string; role: string[]; out: string; days: string; home?: string };

/** `refit auth cert`: writes a client certificate signed by the CA of `--home` into `--out`. */
export async function authCert(o: AuthCertOptions): Promise<void> {
  const h = home(o.home);
  const ca = { cert: readFileSync(join(h, 'ca', 'ca.crt'), 'utf8'), key: readFileSync(join(h, 'ca', 'ca.key'), 'utf8') };
  const days = Number(o.days);
  if (!Number.isInteger(days) || days < 1 || days > 825) throw new InvalidInputError(`--days '${o.days}': a whole number from 1 to 825`);
  const pair = await issueCertificate(ca, { principal: o.name, roles: roles(o.role) }, days);
  mkdirSync(o.out, { recursive: true, mode: 0o700 });
  writeFileSync(join(o.out, 'ca.crt'), ca.cert);
  writeFileSync(join(o.out, 'tls.crt'), pair.cert);
  writeFileSync(join(o.out, 'tls.key'), pair.key, { mode: 0o600 });
  console.log(`wrote ${join(o.out, 'tls.crt')} and tls.key for ${o.name} (${o.role.join(', ')}), valid ${days} days`);
}

import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { findRefitHome, InvalidInputError, isRole, issueCertificate, issueToken, MAX_TOKEN_TTL_S, ROLE_PURPOSE, ROLES, type Role } from '@refit/platform';

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

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/**
 * `refit auth token` and `refit auth cert`: issue a credential for a person or an application from
 * the keys of a local stack's `.refit/` folder (the token issuer's private key, the CA's key). In
 * a real deployment the same commands run where those keys are kept (`--home`).
 */
export function registerAuthCommands(program: Command): void {
  const auth = program
    .command('auth')
    .description('credentials for people and applications')
    .addHelpText('after', `\nRoles:\n${ROLES.map((r) => `  ${r.padEnd(10)} ${ROLE_PURPOSE[r]}`).join('\n')}`);
  auth
    .command('token')
    .requiredOption('--name <who>', 'who the token is for (recorded as the actor of what it does)')
    .option('--role <role>', 'a role it holds (repeat for several)', collect, [])
    .option('--ttl <duration>', 'lifetime, e.g. 30d, 12h', '30d')
    .option('--home <dir>', 'folder with tokens/issuer.key (default: REFIT_HOME or the nearest .refit/)')
    .description('issue a bearer token (send it as REFIT_TOKEN, or the metadata "authorization: Bearer <token>")')
    .action(async (o: { name: string; role: string[]; ttl: string; home?: string }) => {
      const keyFile = join(home(o.home), 'tokens', 'issuer.key');
      if (!existsSync(keyFile)) throw new InvalidInputError(`${keyFile} is missing: tokens are issued where the issuer key is kept`);
      const token = await issueToken({ privateKey: createPrivateKey(readFileSync(keyFile)), name: o.name, roles: roles(o.role), ttlSeconds: parseTtl(o.ttl) });
      console.log(token);
    });
  auth
    .command('cert')
    .requiredOption('--name <who>', 'who the certificate is for')
    .option('--role <role>', 'a role it holds (repeat for several)', collect, [])
    .requiredOption('--out <dir>', 'folder to write ca.crt, tls.crt and tls.key into')
    .option('--days <n>', 'validity in days', '365')
    .option('--home <dir>', 'folder with ca/ca.crt and ca/ca.key (default: REFIT_HOME or the nearest .refit/)')
    .description('issue a client certificate (REFIT_TLS_CERT / REFIT_TLS_KEY, or any gRPC client\'s TLS options)')
    .action(async (o: { name: string; role: string[]; out: string; days: string; home?: string }) => {
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
    });
}

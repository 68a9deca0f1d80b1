import type { Command } from 'commander';
import { ROLE_PURPOSE, ROLES } from '@refit/platform/roles';
import type { AuthCertOptions, AuthTokenOptions } from '../auth-commands.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];
// Token signing and certificate issuing load only when `auth token` or `auth cert` runs.
const impl = () => import('../auth-commands.js');

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
    .action(async (o: AuthTokenOptions) => (await impl()).authToken(o));
  auth
    .command('cert')
    .requiredOption('--name <who>', 'who the certificate is for')
    .option('--role <role>', 'a role it holds (repeat for several)', collect, [])
    .requiredOption('--out <dir>', 'folder to write ca.crt, tls.crt and tls.key into')
    .option('--days <n>', 'validity in days', '365')
    .option('--home <dir>', 'folder with ca/ca.crt and ca/ca.key (default: REFIT_HOME or the nearest .refit/)')
    .description('issue a client certificate (REFIT_TLS_CERT / REFIT_TLS_KEY, or any gRPC client\'s TLS options)')
    .action(async (o: AuthCertOptions) => (await impl()).authCert(o));
}

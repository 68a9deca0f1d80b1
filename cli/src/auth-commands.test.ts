import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTokenVerifier, ensureLocalCredentials } from '@refit/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTtl } from './auth-commands.js';

const bin = fileURLToPath(new URL('../bin/refit.js', import.meta.url));

describe('refit auth', () => {
  let home: string;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'refit-cli-auth-'));
    await ensureLocalCredentials(home);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('reads lifetimes and refuses what it cannot read', () => {
    expect(parseTtl('30d')).toBe(30 * 86_400);
    expect(parseTtl('12h')).toBe(12 * 3600);
    expect(parseTtl('3600')).toBe(3600);
    expect(() => parseTtl('forever')).toThrow(/give a duration such as 30d/);
    expect(() => parseTtl('5s')).toThrow(/between 60 s/);
  });

  it('issues a token the services accept, for the name and roles asked', async () => {
    const token = execFileSync(process.execPath, [bin, 'auth', 'token', '--home', home, '--name', 'checkout-app', '--role', 'predictor', '--ttl', '1h'], { encoding: 'utf8' }).trim();
    const claims = await createTokenVerifier(createPublicKey(readFileSync(join(home, 'tokens', 'issuer.pub.pem')))).verify(token);
    expect(claims).toMatchObject({ name: 'checkout-app', roles: ['predictor'] });
  });

  it('refuses an unknown role, saying which exist', () => {
    let err = '';
    try {
      execFileSync(process.execPath, [bin, 'auth', 'token', '--home', home, '--name', 'x', '--role', 'root'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = String((e as { stderr: string }).stderr);
    }
    expect(err).toContain('--role root: give one or more of viewer, predictor, operator, admin');
  });

  it('issues a client certificate carrying the roles as its OUs', () => {
    const out = join(home, 'app');
    execFileSync(process.execPath, [bin, 'auth', 'cert', '--home', home, '--name', 'batch-scorer', '--role', 'predictor', '--role', 'viewer', '--out', out], { encoding: 'utf8' });
    const subject = execFileSync('openssl', ['x509', '-in', join(out, 'tls.crt'), '-noout', '-subject'], { encoding: 'utf8' });
    expect(subject).toMatch(/CN\s*=\s*batch-scorer, OU\s*=\s*predictor, OU\s*=\s*viewer/);
    expect(execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')], { encoding: 'utf8' })).toContain('OK');
  });
});

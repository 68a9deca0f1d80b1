import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { DeployerService, RegistryService, TriggerService, refitFiles } from '@refit/contracts';
import { freePort } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermissionDenied, isUnauthenticated, type RefitError } from '../errors.js';
import { createClient } from '../grpc/client.js';
import { checkHealth } from '../grpc/health.js';
import { implement } from '../grpc/handlers.js';
import { createGrpcServer, type GrpcServer } from '../grpc/server.js';
import { notImplemented } from '../grpc/test-handlers.js';
import type { CallContext } from '../grpc/types.js';
import { createAuthenticator } from './authenticator.js';
import { actorOf, ON_BEHALF_OF_KEY } from './identity.js';
import { ensureLocalCredentials, type LocalCredentials } from './local-credentials.js';
import { issueCertificate } from './pki.js';
import { channelCredentials, loadTlsDir, serverCredentials } from './tls.js';
import { createTokenVerifier, issueToken } from './tokens.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function rejection(p: Promise<unknown>): Promise<RefitError> {
  try {
    await p;
  } catch (e) {
    return e as RefitError;
  }
  throw new Error('expected the call to fail');
}

describe('gRPC authentication and roles over TLS', () => {
  let dir: string;
  let creds: LocalCredentials;
  let server: GrpcServer;
  let address: string;
  let ca: Buffer;
  const seen: CallContext[] = [];
  const token = async (name: string, roles: Parameters<typeof issueToken>[0]['roles'], ttlSeconds = 3600) =>
    issueToken({ privateKey: createPrivateKey(readFileSync(join(dir, 'tokens', 'issuer.key'))), name, roles, ttlSeconds });
  const asToken = (t: string) => channelCredentials({ ca, token: t });
  const asService = (s: string) => channelCredentials(loadTlsDir(join(dir, 'services', s)));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'refit-auth-'));
    creds = await ensureLocalCredentials(dir);
    ca = readFileSync(join(dir, 'ca', 'ca.crt'));
    const tls = loadTlsDir(join(dir, 'services', 'registry'));
    const tokens = createTokenVerifier((await import('node:crypto')).createPublicKey(readFileSync(join(dir, 'tokens', 'issuer.pub.pem'))));
    const record = (ctx: CallContext) => void seen.push(ctx);
    server = await createGrpcServer({
      service: 'registry',
      port: 0,
      logger: quiet,
      files: refitFiles,
      credentials: serverCredentials(tls),
      auth: createAuthenticator({ tokens, services: ['trigger', 'ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'] }),
      healthPort: await freePort(),
      services: [
        implement(RegistryService, {
          ...notImplemented(RegistryService),
          listModels: (_req, ctx) => (record(ctx), { models: [] }),
          setAlias: (_req, ctx) => (record(ctx), {}),
        }),
        implement(DeployerService, { ...notImplemented(DeployerService), predict: (_req, ctx) => (record(ctx), {}) }),
        implement(TriggerService, { ...notImplemented(TriggerService), applyPipeline: (_req, ctx) => (record(ctx), {}) }),
      ],
    });
    address = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers health, and only health, in plaintext on the health port (for probes that cannot speak TLS)', async () => {
    expect(await checkHealth(`127.0.0.1:${server.healthPort}`)).toBe('SERVING');
    expect(await checkHealth(address, '', 2000, join(dir, 'ca', 'ca.crt'))).toBe('SERVING');
    const c = createClient(RegistryService, `127.0.0.1:${server.healthPort}`, { credentials: credentials.createInsecure() });
    const err = await rejection(c.setAlias({ pipeline: 'p', alias: 'champion', version: 'v1', reason: 'x' }));
    expect((err as RefitError & { grpcCode: number }).grpcCode).toBe(12); // UNIMPLEMENTED: nothing but health there
    c.close();
  });

  it('refuses a plaintext client at the transport', async () => {
    const c = createClient(RegistryService, address, { credentials: credentials.createInsecure(), timeoutMs: 3000 });
    const err = await rejection(c.listModels({ pipeline: 'p' }));
    expect(err.kind).toBe('unavailable');
    c.close();
  });

  it('answers UNAUTHENTICATED, saying what is needed, to a TLS caller without a credential', async () => {
    const c = createClient(RegistryService, address, { credentials: channelCredentials({ ca }) });
    const err = await rejection(c.setAlias({ pipeline: 'p', alias: 'champion', version: 'v1', reason: 'x' }));
    expect(isUnauthenticated(err)).toBe(true);
    expect(err.message).toMatch(/RegistryService\/SetAlias needs a credential: a bearer token .* or a client certificate/);
    c.close();
  });

  it('refuses a token signed by another key, and an expired one', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = await issueToken({ privateKey: other, name: 'mallory', roles: ['admin'], ttlSeconds: 3600 });
    const c = createClient(RegistryService, address, { credentials: asToken(forged) });
    const err = await rejection(c.listModels({ pipeline: 'p' }));
    expect(isUnauthenticated(err)).toBe(true);
    expect(err.message).toMatch(/signature does not match/);
    c.close();

    const { SignJWT } = await import('jose');
    const expired = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('refit')
      .setAudience('refit')
      .setSubject('old')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(createPrivateKey(readFileSync(join(dir, 'tokens', 'issuer.key'))));
    const c2 = createClient(RegistryService, address, { credentials: asToken(expired) });
    expect((await rejection(c2.listModels({ pipeline: 'p' }))).message).toMatch(/expired/);
    c2.close();
  });

  it('lets each role do its own calls and answers PERMISSION_DENIED naming the role needed otherwise', async () => {
    const viewer = createClient(RegistryService, address, { credentials: asToken(await token('vera', ['viewer'])) });
    await viewer.listModels({ pipeline: 'p' });
    expect(actorOf(seen.at(-1)!.identity)).toBe('vera');
    const denied = await rejection(viewer.setAlias({ pipeline: 'p', alias: 'champion', version: 'v1', reason: 'x' }));
    expect(isPermissionDenied(denied)).toBe(true);
    expect(denied.message).toMatch(/'vera' \(roles: viewer\) may not call RegistryService\/SetAlias: it needs the admin role/);
    viewer.close();

    const predictor = createClient(DeployerService, address, { credentials: asToken(await token('checkout-app', ['predictor'])) });
    await predictor.predict({ pipeline: 'p' });
    predictor.close();
    const predictorReads = createClient(RegistryService, address, { credentials: asToken(await token('checkout-app', ['predictor'])) });
    expect(isPermissionDenied(await rejection(predictorReads.listModels({ pipeline: 'p' })))).toBe(true);
    predictorReads.close();

    const operator = createClient(TriggerService, address, { credentials: asToken(await token('olga', ['operator'])) });
    expect(isPermissionDenied(await rejection(operator.applyPipeline({ specYaml: 'x' })))).toBe(true);
    operator.close();

    const admin = createClient(RegistryService, address, { credentials: asToken(await token('alice', ['admin'])) });
    // A name in metadata does not change who the caller is: only services may act for someone.
    await admin.setAlias({ pipeline: 'p', alias: 'champion', version: 'v1', reason: 'x' }, { metadata: { [ON_BEHALF_OF_KEY]: 'bob' } });
    expect(actorOf(seen.at(-1)!.identity)).toBe('alice');
    admin.close();
  });

  it('identifies Refit services by their certificates and lets each make only its own stage\'s calls', async () => {
    const deployer = createClient(RegistryService, address, { credentials: asService('deployer') });
    await deployer.setAlias({ pipeline: 'p', alias: 'champion', version: 'v1', reason: 'x' }, { metadata: { [ON_BEHALF_OF_KEY]: 'alice' } });
    expect(actorOf(seen.at(-1)!.identity)).toBe('alice via service:deployer');
    deployer.close();

    const evaluator = createClient(RegistryService, address, { credentials: asService('evaluator') });
    await evaluator.listModels({ pipeline: 'p' });
    expect(actorOf(seen.at(-1)!.identity)).toBe('service:evaluator');
    const denied = await rejection(evaluator.setAlias({ pipeline: 'p', alias: 'champion', version: 'v1', reason: 'x' }));
    expect(isPermissionDenied(denied)).toBe(true);
    expect(denied.message).toMatch(/service 'evaluator' may not call RegistryService\/SetAlias/);
    evaluator.close();
  });

  it('accepts a principal client certificate carrying roles, and ignores one from another CA', async () => {
    const caPair = { cert: readFileSync(join(dir, 'ca', 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'ca', 'ca.key'), 'utf8') };
    const app = await issueCertificate(caPair, { principal: 'batch-scorer', roles: ['predictor'] });
    const c = createClient(DeployerService, address, { credentials: channelCredentials({ ca, cert: Buffer.from(app.cert), key: Buffer.from(app.key) }) });
    await c.predict({ pipeline: 'p' });
    expect(actorOf(seen.at(-1)!.identity)).toBe('batch-scorer');
    c.close();

    const { createCa } = await import('./pki.js');
    const rogueCa = await createCa({ name: 'Rogue CA' });
    const rogue = await issueCertificate(rogueCa, { service: 'deployer', hosts: ['127.0.0.1'] });
    const r = createClient(RegistryService, address, { credentials: channelCredentials({ ca, cert: Buffer.from(rogue.cert), key: Buffer.from(rogue.key) }) });
    const err = await rejection(r.setAlias({ pipeline: 'p', alias: 'champion', version: 'v1', reason: 'x' }));
    // Depending on the TLS stack the handshake fails or the certificate is ignored: never authorised.
    expect(['unauthenticated', 'unavailable']).toContain(err.kind);
    r.close();
    expect(creds.cliEnv.REFIT_TOKEN_FILE).toBe(join(dir, 'admin.token'));
  });
});

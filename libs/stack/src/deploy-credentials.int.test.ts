import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as tlsServer, type TLSSocket } from 'node:tls';
import { connect as natsConnect } from 'nats';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PORTS, createLogger, loadBaseConfig, loadServiceSecurity, loadTlsDir, natsServerConfig, readEventPrivateKey, readEventPublicKeys } from '@refit/platform';
import { freePort } from '@refit/testing';
import { makeComposeCredentials, readEnvFile } from '../../../deploy/compose/make-credentials.js';
import { natsServerBinary, waitFor } from './infra.js';
import { REPO_ROOT, SERVICES } from './stack.js';

const deploy = (...p: string[]) => join(REPO_ROOT, 'deploy', ...p);
const NATS_USERS = [...SERVICES, 'external', 'admin'];
const natsVar = (user: string) => `REFIT_NATS_${user.toUpperCase()}_PASSWORD`;
const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' };

type K8sObject = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: Record<string, unknown> };
const renderKustomize = (dir: string): K8sObject[] => parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJSON() as K8sObject);

/** Secret names and the keys each must hold, as the Deployments, StatefulSet and Jobs use them. */
function secretsUsed(objects: K8sObject[]): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const need = (name: string, key?: string) => {
    const keys = used.get(name) ?? new Set<string>();
    if (key) keys.add(key);
    used.set(name, keys);
  };
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'refit-config')?.data ?? {};
  for (const w of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job')) {
    type Pod = {
      containers: { env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; envFrom?: { secretRef?: { name: string } }[]; volumeMounts?: { name: string; mountPath: string }[] }[];
      volumes?: { name: string; secret?: { secretName: string } }[];
    };
    const pod = (w.spec as { template: { spec: Pod } }).template.spec;
    for (const c of pod.containers) {
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) need(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
      for (const e of c.envFrom ?? []) if (e.secretRef) need(e.secretRef.name);
      // A file a REFIT_* path names inside a mounted Secret must be one of its keys.
      const paths = [...Object.values(config), ...(c.env ?? []).flatMap((e) => (e.value ? [e.value] : []))];
      for (const m of c.volumeMounts ?? []) {
        const secret = pod.volumes?.find((v) => v.name === m.name)?.secret?.secretName;
        if (!secret) continue;
        need(secret);
        for (const p of paths) if (p.startsWith(`${m.mountPath}/`)) need(secret, p.slice(m.mountPath.length + 1));
        if (m.mountPath === config.REFIT_TLS_DIR) for (const k of ['ca.crt', 'tls.crt', 'tls.key']) need(secret, k);
        if (m.mountPath === config.REFIT_EVENT_KEYS_DIR) for (const s of SERVICES) need(secret, `${s}.pub.pem`);
      }
    }
  }
  return used;
}

describe('deploy/nats/nats-server.conf', () => {
  const committed = readFileSync(deploy('nats/nats-server.conf'), 'utf8');

  it('is what natsServerConfig makes today (regenerate: node --conditions=@refit/source --import tsx deploy/nats/generate.ts)', () => {
    expect(committed).toBe(natsServerConfig({ subjectPrefix: 'refit', passwords: 'env', host: '0.0.0.0', port: 4222 }));
  });

  it('is the ConfigMap the Kubernetes base gives its NATS', () => {
    const objects = renderKustomize(deploy('k8s/base'));
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('refit-nats-config-'));
    expect(cm?.data?.['nats-server.conf']).toBe(committed);
  });
});

describe('deploy/k8s/make-credentials.sh and render-secrets.sh', () => {
  let dir: string;
  let secrets: K8sObject[];
  const file = (...p: string[]) => readFileSync(join(dir, ...p));
  const cert = (s: string) => new X509Certificate(file('services', s, 'tls.crt'));
  const pgUrl = 'postgres://refit:pg-secret@db:5432/refit';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'refit-k8s-credentials-'));
    execFileSync('bash', [deploy('k8s/make-credentials.sh'), dir, 'refit'], { stdio: 'pipe' });
    const env = { ...process.env, REFIT_PG_URL: pgUrl, REFIT_S3_ACCESS_KEY: 'access', REFIT_S3_SECRET_KEY: 's3-secret' };
    const rendered = execFileSync('bash', [deploy('k8s/render-secrets.sh'), dir], { env, encoding: 'utf8', stdio: 'pipe' });
    secrets = parseAllDocuments(rendered).map((d) => d.toJSON() as K8sObject).filter(Boolean);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issues each service a certificate CN=<service>, OU=refit-service from the CA, for server and client auth, naming refit-<service>', () => {
    const ca = new X509Certificate(file('ca', 'ca.crt'));
    expect(ca.ca).toBe(true);
    for (const s of SERVICES) {
      const c = cert(s);
      expect(c.subject.split('\n')).toEqual(expect.arrayContaining([`CN=${s}`, 'OU=refit-service']));
      expect(c.checkIssued(ca) && c.verify(ca.publicKey), s).toBe(true);
      expect(c.keyUsage, s).toEqual(expect.arrayContaining([EKU.serverAuth, EKU.clientAuth]));
      expect(c.subjectAltName, s).toBe(`DNS:refit-${s}, DNS:refit-${s}.refit.svc, DNS:refit-${s}.refit.svc.cluster.local`);
      expect(() => loadTlsDir(join(dir, 'services', s))).not.toThrow();
      expect(statSync(join(dir, 'services', s, 'tls.key')).mode & 0o077, `${s}/tls.key is readable by others`).toBe(0);
    }
  });

  it('lets two services handshake mutual TLS by the name clients dial, and no other', async () => {
    const registry = loadTlsDir(join(dir, 'services', 'registry'));
    const trigger = loadTlsDir(join(dir, 'services', 'trigger'));
    const peers: string[] = [];
    const server = tlsServer({ ...registry, requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
      peers.push(`${s.getPeerCertificate().subject.CN}/${s.getPeerCertificate().subject.OU}`);
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const dial = (servername: string) =>
      new Promise<void>((resolve, reject) => {
        const sock = tlsConnect({ host: '127.0.0.1', port, servername, ...trigger }, () => sock.end());
        sock.on('close', () => resolve());
        sock.on('error', reject);
      });
    try {
      await dial('refit-registry');
      await expect(dial('refit-trainer')).rejects.toThrow(/altnames|does not match/i);
      expect(peers[0]).toBe('trigger/refit-service');
    } finally {
      server.close();
    }
  });

  it('makes Ed25519 event keys whose public halves verify what each service signs, a ledger key and env-safe NATS passwords', () => {
    const publicKeys = readEventPublicKeys(join(dir, 'event-keys'));
    for (const s of SERVICES) {
      const signature = sign(null, Buffer.from(s), readEventPrivateKey(join(dir, 'services', s, 'event.key')));
      expect(verify(null, Buffer.from(s), publicKeys.get(s)![0], signature), s).toBe(true);
    }
    expect(file('ledger.key').length).toBeGreaterThanOrEqual(32);
    createPublicKey(file('tokens', 'issuer.pub.pem'));
    createPrivateKey(file('tokens', 'issuer.key'));
    const nats = readEnvFile(join(dir, 'nats', 'nats.env'));
    expect(Object.keys(nats).sort()).toEqual(NATS_USERS.map(natsVar).sort());
    for (const pw of Object.values(nats)) expect(pw).toMatch(/^[A-Za-z][A-Za-z0-9]{31,}$/);
  });

  it('keeps what exists when run again', () => {
    const before = [cert('trigger').fingerprint256, file('nats', 'nats.env').toString()];
    execFileSync('bash', [deploy('k8s/make-credentials.sh'), dir, 'refit'], { stdio: 'pipe' });
    expect([cert('trigger').fingerprint256, file('nats', 'nats.env').toString()]).toEqual(before);
  });

  it('renders exactly the Secrets, with the keys, that the base mounts and references', () => {
    const used = secretsUsed(renderKustomize(deploy('k8s/base')));
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual([...used.keys()].sort());
    for (const s of secrets) {
      const keys = Object.keys(s.data ?? {});
      for (const k of used.get(s.metadata.name) ?? []) expect(keys, `${s.metadata.name} lacks ${k}`).toContain(k);
    }
    const pg = secrets.find((s) => s.metadata.name === 'refit-postgres');
    expect(Buffer.from(pg!.data!.url, 'base64').toString()).toBe(pgUrl);
    const tls = secrets.find((s) => s.metadata.name === 'refit-registry-tls') as K8sObject & { type: string };
    expect(tls.type).toBe('kubernetes.io/tls');
  });

  it('renders the owner\'s Postgres URL for the prod overlay\'s migrate Jobs when REFIT_PG_OWNER_URL is set: exactly what prod uses', () => {
    const ownerUrl = 'postgres://refit_owner:owner-secret@db:5432/refit';
    const env = { ...process.env, REFIT_PG_URL: pgUrl, REFIT_PG_OWNER_URL: ownerUrl, REFIT_S3_ACCESS_KEY: 'access', REFIT_S3_SECRET_KEY: 's3-secret' };
    const withOwner = parseAllDocuments(execFileSync('bash', [deploy('k8s/render-secrets.sh'), dir], { env, encoding: 'utf8', stdio: 'pipe' })).map((d) => d.toJSON() as K8sObject).filter(Boolean);
    const used = secretsUsed(renderKustomize(deploy('k8s/overlays/prod')));
    expect(withOwner.map((s) => s.metadata.name).sort()).toEqual([...used.keys()].sort());
    const owner = withOwner.find((s) => s.metadata.name === 'refit-postgres-owner');
    expect(Buffer.from(owner!.data!.url, 'base64').toString()).toBe(ownerUrl);
    expect(secrets.find((s) => s.metadata.name === 'refit-postgres-owner')).toBeUndefined();
  });

  it('gives each Deployment, with these Secrets mounted, a configuration its service accepts in production', () => {
    const objects = renderKustomize(deploy('k8s/base'));
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'refit-config')!.data!;
    const secretData = (name: string) => Object.entries(secrets.find((x) => x.metadata.name === name)?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const);
    const logger = createLogger({ service: 'deploy-test', level: 'silent' });
    for (const s of SERVICES) {
      type Pod = { containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] };
      const pod = (objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `refit-${s}`)!.spec as { template: { spec: Pod } }).template.spec;
      const [c] = pod.containers;
      // Each Secret volume becomes a folder of its keys, as the kubelet mounts it.
      const mounts: [string, string][] = [];
      for (const m of c.volumeMounts) {
        const secret = pod.volumes.find((v) => v.name === m.name)?.secret?.secretName;
        if (!secret) continue;
        const folder = join(dir, 'mounts', s, m.name);
        mkdirSync(folder, { recursive: true });
        for (const [k, v] of secretData(secret)) writeFileSync(join(folder, k), v);
        mounts.push([m.mountPath, folder]);
      }
      const local = (v: string) => {
        const mount = mounts.find(([from]) => v === from || v.startsWith(`${from}/`));
        return mount ? mount[1] + v.slice(mount[0].length) : v;
      };
      const env: Record<string, string> = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, local(v)]));
      for (const e of c.env) {
        const ref = e.valueFrom?.secretKeyRef;
        env[e.name] = ref ? Object.fromEntries(secretData(ref.name))[ref.key].toString() : local(e.value ?? '');
      }
      const base = loadBaseConfig(s, { defaultGrpcPort: DEFAULT_PORTS[s], env });
      expect(base).toMatchObject({ environment: 'production', healthPort: 8086, pgUrl, security: { natsUser: s } });
      const security = loadServiceSecurity(base, logger);
      expect(security.auth.enabled, s).toBe(true);
      expect(security.signer && security.verifier, s).toBeTruthy();
      if (s === 'registry') expect(readFileSync(env.REFIT_LEDGER_KEY).length).toBeGreaterThanOrEqual(32);
    }
  });

  it('leaves the TLS Secrets to cert-manager with --without-tls, whose Certificates match make-credentials.sh', () => {
    const env = { ...process.env, REFIT_PG_URL: pgUrl, REFIT_S3_ACCESS_KEY: 'a', REFIT_S3_SECRET_KEY: 'b' };
    const rendered = execFileSync('bash', [deploy('k8s/render-secrets.sh'), dir, '--without-tls'], { env, encoding: 'utf8', stdio: 'pipe' });
    const names = parseAllDocuments(rendered).map((d) => (d.toJSON() as K8sObject | null)?.metadata.name).filter(Boolean);
    expect(names.filter((n) => n?.endsWith('-tls'))).toEqual([]);
    const certificates = renderKustomize(deploy('k8s/cert-manager')).filter((o) => o.kind === 'Certificate');
    for (const s of SERVICES) {
      const c = certificates.find((o) => o.metadata.name === `refit-${s}`);
      expect(c?.spec, s).toMatchObject({ secretName: `refit-${s}-tls`, commonName: s, subject: { organizationalUnits: ['refit-service'] } });
      expect(c?.spec?.usages, s).toEqual(expect.arrayContaining(['server auth', 'client auth']));
      expect(c?.spec?.dnsNames, s).toEqual(cert(s).subjectAltName?.split(', ').map((n) => n.replace(/^DNS:/, '')));
    }
  });

  it('refuses to render without the Postgres URL and S3 keys', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REFIT_')));
    expect(() => execFileSync('bash', [deploy('k8s/render-secrets.sh'), dir], { env, stdio: 'pipe' })).toThrow(/REFIT_PG_URL/);
  });

  describe.skipIf(!natsServerBinary())('nats-server with the committed config', () => {
    let nats: ChildProcess | undefined;
    let url: string;
    const passwords = () => readEnvFile(join(dir, 'nats', 'nats.env'));
    beforeAll(async () => {
      const port = await freePort();
      url = `nats://127.0.0.1:${port}`;
      // The file as committed; only where it listens and stores is overridden, as compose and Kubernetes do with -sd.
      nats = spawn(natsServerBinary()!, ['-c', deploy('nats/nats-server.conf'), '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'jetstream')], { env: { ...process.env, ...passwords() }, stdio: 'ignore' });
      await waitFor(`nats-server at ${url}`, async () => {
        const nc = await natsConnect({ servers: url, user: 'admin', pass: passwords()[natsVar('admin')], timeout: 500 });
        await nc.close();
        return true;
      }, 10_000);
    });
    afterAll(() => {
      nats?.kill();
    });

    it('takes each user\'s password from its environment and refuses a wrong one', async () => {
      for (const user of NATS_USERS) {
        const nc = await natsConnect({ servers: url, user, pass: passwords()[natsVar(user)], timeout: 2000 });
        await nc.close();
      }
      await expect(natsConnect({ servers: url, user: 'trigger', pass: passwords()[natsVar('registry')], timeout: 2000 })).rejects.toThrow();
    });

    it('does not start when a password variable is missing', () => {
      const env = { ...process.env, ...passwords() };
      delete env[natsVar('trainer')];
      expect(() => execFileSync(natsServerBinary()!, ['-c', deploy('nats/nats-server.conf'), '-t'], { env, stdio: 'pipe' })).toThrow(/REFIT_NATS_TRAINER_PASSWORD/);
    });
  });
});

describe('deploy/compose/make-credentials.ts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'refit-compose-credentials-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes .refit/ and an .env with every variable the compose file requires, env-safe, and keeps them when run again', async () => {
    const first = await makeComposeCredentials({ dir });
    const json = JSON.parse(readFileSync(join(first.home, 'nats', 'passwords.json'), 'utf8')) as Record<string, string>;
    for (const u of NATS_USERS) {
      expect(first.env[natsVar(u)], u).toBe(json[u]);
      expect(first.env[natsVar(u)], u).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
    }
    expect(statSync(first.envFile).mode & 0o077).toBe(0);
    const compose = parse(execFileSync('docker-compose', ['-f', deploy('compose/docker-compose.yml'), '--env-file', first.envFile, 'config'], { encoding: 'utf8', stdio: 'pipe' })) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    expect(compose.services.trainer.environment?.REFIT_NATS_PASSWORD).toBe(json.trainer);
    const second = await makeComposeCredentials({ dir });
    expect(second.env).toEqual(first.env);
    expect(readEnvFile(first.envFile)).toEqual(first.env);
  });
});

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '@refit/platform';
import { REPO_ROOT, SERVICES } from './stack.js';

const deploy = (...p: string[]) => join(REPO_ROOT, 'deploy', ...p);
const HEALTH_PORT = 8086;
/** The root package.json's version: the images' tag and version label. */
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const METRICS_PORT = 9464;
const NATS_USERS = [...SERVICES, 'external', 'admin'];
const natsVar = (user: string) => `REFIT_NATS_${user.toUpperCase()}_PASSWORD`;

/** What the compose file requires; test values only. */
const COMPOSE_ENV: Record<string, string> = {
  REFIT_POSTGRES_PASSWORD: 'test-pg',
  REFIT_S3_ACCESS_KEY: 'test-s3-access',
  REFIT_S3_SECRET_KEY: 'test-s3-secret',
  ...Object.fromEntries(NATS_USERS.map((u) => [natsVar(u), `test-${u}`])),
};

type ComposeService = { command?: string[]; ports?: string[]; image?: string; build?: { target?: string; dockerfile?: string }; depends_on?: Record<string, { condition?: string }>; healthcheck?: { test?: string[] }; networks?: Record<string, unknown>; environment?: Record<string, string>; volumes?: string[]; user?: string; read_only?: boolean; cap_drop?: string[]; security_opt?: string[]; tmpfs?: string[] };
type Compose = { services: Record<string, ComposeService>; networks: Record<string, { internal?: boolean } | null> };

/** `docker-compose config` (offline) with `env`: the file as compose resolves it. */
function composeConfig(env: Record<string, string>, ...args: string[]): string {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REFIT_'))) as Record<string, string>;
  return execFileSync('docker-compose', ['-f', deploy('compose/docker-compose.yml'), 'config', ...args], { env: { ...base, ...env }, encoding: 'utf8', stdio: 'pipe' });
}

type Probe = { grpc?: { port: number }; periodSeconds?: number; failureThreshold?: number };
type SecurityContext = { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] }; seccompProfile?: { type: string } };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
type Container = {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
};
type PodSpec = { automountServiceAccountToken?: boolean; securityContext?: SecurityContext; containers: Container[]; volumes?: { name: string; emptyDir?: object; secret?: { secretName: string } }[] };
type K8sObject = { kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string>; spec?: Record<string, unknown> };
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;

/** Looks like a credential by its name; such a value may only be the path of a mounted file. */
const CREDENTIAL_NAME = /PASSWORD|SECRET|_KEY$|TOKEN$|_PG_URL$/;
const isMountedPath = (v: string) => /^\/run\/refit\/[\w./-]+$/.test(v);

describe('deploy/compose', () => {
  let compose: Compose;
  beforeAll(() => {
    compose = parse(composeConfig(COMPOSE_ENV)) as Compose;
  });

  it('is valid (docker-compose config -q, offline) with its variables set', () => {
    composeConfig(COMPOSE_ENV, '-q');
  });

  it('has no default password: without its variables it refuses, naming what to run', () => {
    expect(() => composeConfig({}, '-q')).toThrow(/make-credentials\.ts/);
    const raw = readFileSync(deploy('compose/docker-compose.yml'), 'utf8');
    for (const [, name, value] of raw.matchAll(/^\s*([A-Z0-9_]+):\s*(.+)$/gm)) {
      if (/PASSWORD|SECRET|ACCESS_KEY|PG_URL/.test(name)) expect(value, name).toMatch(/\$\{[A-Z0-9_]+:\?[^}]+\}/);
    }
  });

  it('runs Postgres, NATS JetStream with the generated config, MinIO, every service on its default port and the console', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES, 'console', 'postgres', 'nats', 'minio'].sort());
    expect(compose.services.nats.command).toEqual(['-c', '/etc/nats/nats-server.conf', '-sd', '/data', '-m', '8222']);
    expect(compose.services.nats.volumes).toContain(`${deploy('nats/nats-server.conf')}:/etc/nats/nats-server.conf:ro`);
    for (const u of NATS_USERS) expect(compose.services.nats.environment?.[natsVar(u)]).toBe(`test-${u}`);
    for (const s of SERVICES) {
      expect(compose.services[s].ports).toEqual([`127.0.0.1:${DEFAULT_PORTS[s]}:${DEFAULT_PORTS[s]}/tcp`]);
    }
    expect(compose.services.console.ports).toEqual(['127.0.0.1:8090:8090/tcp']);
  });

  it('runs each service and the console from its own image, built from its target of the one Dockerfile', () => {
    for (const s of [...SERVICES, 'console']) {
      const svc = compose.services[s];
      expect(svc.image, s).toBe(`refit-${s}:${VERSION}`);
      expect(svc.build, s).toMatchObject({ target: s, dockerfile: 'deploy/docker/Dockerfile' });
      // The image's CMD runs the compiled service.
      expect(svc.command, s).toBeUndefined();
    }
  });

  it('starts the services once Postgres, NATS and MinIO are healthy, and the console once the services are', () => {
    for (const infra of ['postgres', 'nats', 'minio']) expect(compose.services[infra].healthcheck?.test, infra).toBeDefined();
    for (const s of SERVICES) {
      expect(compose.services[s].depends_on, s).toEqual({ postgres: { condition: 'service_healthy' }, nats: { condition: 'service_healthy' }, minio: { condition: 'service_healthy' } });
    }
    expect(compose.services.console.depends_on).toEqual(Object.fromEntries(SERVICES.map((s) => [s, { condition: 'service_healthy' }])));
  });

  it('pins every infrastructure image to a version', () => {
    for (const infra of ['postgres', 'nats', 'minio']) expect(compose.services[infra].image, infra).not.toMatch(/:latest$|^[^:]+$/);
  });

  it('publishes only the gRPC ports: Postgres, NATS and MinIO are on an internal network alone', () => {
    expect(compose.networks.backend?.internal).toBe(true);
    for (const infra of ['postgres', 'nats', 'minio']) {
      expect(compose.services[infra].ports, infra).toBeUndefined();
      expect(Object.keys(compose.services[infra].networks ?? {}), infra).toEqual(['backend']);
    }
  });

  it('runs each service in production with its own TLS folder, event key, NATS user, read-only and unprivileged', () => {
    for (const s of SERVICES) {
      const svc = compose.services[s];
      expect(svc.environment).toMatchObject({
        REFIT_ENV: 'production',
        REFIT_NATS_USER: s,
        REFIT_NATS_PASSWORD: `test-${s}`,
        REFIT_TLS_DIR: '/run/refit/service',
        REFIT_EVENT_KEY: '/run/refit/service/event.key',
        REFIT_PG_URL: 'postgres://postgres:test-pg@postgres:5432/refit',
        REFIT_S3_ACCESS_KEY: 'test-s3-access',
        REFIT_METRICS_PORT: String(METRICS_PORT),
      });
      expect(svc.volumes).toContain(`${deploy('compose/.refit/services', s)}:/run/refit/service:ro`);
      for (const v of svc.volumes ?? []) expect(v, `${s} mounts ${v} writable`).toMatch(/:ro$/);
      expect(svc).toMatchObject({ read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'], tmpfs: ['/tmp'], user: '1000:1000' });
    }
    expect(compose.services.registry.environment?.REFIT_LEDGER_KEY).toBe('/run/refit/ledger.key');
  });
});

describe('deploy/k8s/base', () => {
  let objects: K8sObject[];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const workloads = () => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  beforeAll(() => {
    const rendered = execFileSync('kubectl', ['kustomize', deploy('k8s/base')], { encoding: 'utf8' });
    objects = parseAllDocuments(rendered).map((d) => d.toJSON() as K8sObject);
  });

  it('renders offline: a Deployment and a Service per service, NATS, the shared ConfigMap, no Secret', () => {
    for (const s of SERVICES) {
      expect(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `refit-${s}`), s).toBeDefined();
      const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === `refit-${s}`);
      // Only the TLS port is reachable through the Service; the health port is the kubelet's.
      expect(service?.spec, s).toMatchObject({ ports: [{ name: 'grpc', port: DEFAULT_PORTS[s], targetPort: 'grpc' }] });
    }
    expect(byKind('StatefulSet').map((o) => o.metadata.name)).toEqual(['refit-nats']);
    expect(byKind('Secret')).toEqual([]);
  });

  it('runs every container as a non-root user, read-only, without privileges or capabilities', () => {
    for (const w of workloads()) {
      const pod = podSpec(w);
      expect(pod.automountServiceAccountToken, w.metadata.name).toBe(false);
      expect(pod.securityContext?.seccompProfile, w.metadata.name).toEqual({ type: 'RuntimeDefault' });
      for (const c of pod.containers) {
        const sc = { ...pod.securityContext, ...c.securityContext };
        const what = `${w.metadata.name}/${c.name}`;
        expect(sc.runAsNonRoot, what).toBe(true);
        expect(sc.runAsUser, what).toBeGreaterThan(0);
        expect(sc.runAsGroup, what).toBeGreaterThan(0);
        expect(c.securityContext, what).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    }
  });

  it('probes every service on its plaintext health port, never the TLS port, with a patient startup probe', () => {
    for (const s of SERVICES) {
      const [c] = podSpec(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `refit-${s}`)!).containers;
      expect(c.ports).toEqual([{ name: 'grpc', containerPort: DEFAULT_PORTS[s] }, { name: 'health', containerPort: HEALTH_PORT }, { name: 'metrics', containerPort: METRICS_PORT }]);
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(probe?.grpc, s).toEqual({ port: HEALTH_PORT });
      expect((c.startupProbe?.periodSeconds ?? 10) * (c.startupProbe?.failureThreshold ?? 3), s).toBeGreaterThanOrEqual(300);
      expect(c.volumeMounts, s).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
  });

  it('annotates every service pod for Prometheus on its metrics port', () => {
    for (const s of SERVICES) {
      const w = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `refit-${s}`)!;
      const annotations = (w.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations;
      expect(annotations, s).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(METRICS_PORT), 'prometheus.io/path': '/metrics' });
    }
  });

  it('sets REFIT_ENV=production and keeps every credential out of ConfigMaps', () => {
    const configMaps = byKind('ConfigMap');
    const shared = configMaps.find((o) => o.metadata.name === 'refit-config');
    expect(shared?.data).toMatchObject({ REFIT_ENV: 'production', REFIT_HEALTH_PORT: String(HEALTH_PORT), REFIT_METRICS_PORT: String(METRICS_PORT) });
    for (const cm of configMaps) {
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        if (CREDENTIAL_NAME.test(k)) expect(isMountedPath(v), `${cm.metadata.name}: ${k}=${v}`).toBe(true);
        expect(v, `${cm.metadata.name}: ${k}`).not.toMatch(/PRIVATE KEY|:\/\/[^/\s:@]+:[^/\s@]+@/);
        // Passwords in the NATS config are references nats-server fills in from the environment.
        for (const [, pw] of v.matchAll(/password:\s*([^,\s}]+)/g)) expect(pw, `${cm.metadata.name}: ${k}`).toMatch(/^\$REFIT_NATS_[A-Z]+_PASSWORD$/);
      }
    }
  });

  it('gives each service its credentials from Secrets: its TLS folder, event key, NATS user, Postgres URL and S3 keys', () => {
    for (const s of SERVICES) {
      const pod = podSpec(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `refit-${s}`)!);
      const [c] = pod.containers;
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
      expect(env.REFIT_NATS_USER?.value).toBe(s);
      expect(env.REFIT_NATS_PASSWORD?.valueFrom?.secretKeyRef).toEqual({ name: 'refit-nats', key: natsVar(s) });
      expect(env.REFIT_PG_URL?.valueFrom?.secretKeyRef).toEqual({ name: 'refit-postgres', key: 'url' });
      expect(env.REFIT_S3_ACCESS_KEY?.valueFrom?.secretKeyRef?.name).toBe('refit-s3');
      expect(env.REFIT_S3_SECRET_KEY?.valueFrom?.secretKeyRef?.name).toBe('refit-s3');
      for (const e of c.env ?? []) if (CREDENTIAL_NAME.test(e.name) && e.value !== undefined) expect(isMountedPath(e.value), `${s}: ${e.name}`).toBe(true);
      const secrets = (pod.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : [])).sort();
      const expected = [`refit-${s}-tls`, `refit-${s}-event-key`, 'refit-event-public-keys', 'refit-token-public-key', ...(s === 'registry' ? ['refit-ledger-key'] : [])];
      expect(secrets).toEqual(expected.sort());
      for (const m of c.volumeMounts ?? []) if (m.name !== 'tmp') expect(m.readOnly, `${s} mounts ${m.mountPath}`).toBe(true);
      expect(c.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/run/refit/tls', readOnly: true });
    }
    const nats = podSpec(byKind('StatefulSet')[0]).containers[0];
    expect(nats.envFrom).toEqual([{ secretRef: { name: 'refit-nats' } }]);
  });

  it('denies ingress by default and allows only gRPC between Refit pods and from labelled clients', () => {
    const policies = byKind('NetworkPolicy');
    const deny = policies.find((p) => p.metadata.name === 'refit-default-deny-ingress');
    expect(deny?.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'refit' } }, policyTypes: ['Ingress'] });
    for (const w of workloads()) {
      const labels = (w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      expect(labels['app.kubernetes.io/part-of'], `${w.metadata.name} is outside the default deny`).toBe('refit');
    }
    const grpc = policies.find((p) => p.metadata.name === 'refit-allow-grpc');
    expect(grpc?.spec).toMatchObject({ ingress: [{ ports: [{ protocol: 'TCP', port: 'grpc' }] }] });
    const openedPorts = policies.flatMap((p) => ((p.spec as { ingress?: { ports?: { port: unknown }[] }[] }).ingress ?? []).flatMap((r) => (r.ports ?? []).map((x) => x.port)));
    expect(openedPorts.sort()).toEqual(['grpc', 'http', 'metrics', 'nats']);
    const console = policies.find((p) => p.metadata.name === 'refit-allow-console');
    expect(console?.spec).toMatchObject({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'refit-console' } }, ingress: [{ ports: [{ protocol: 'TCP', port: 'http' }] }] });
    const metrics = policies.find((p) => p.metadata.name === 'refit-allow-metrics');
    expect(metrics?.spec).toMatchObject({ ingress: [{ from: [{ podSelector: { matchLabels: { 'refit.io/metrics': 'true' } } }, { namespaceSelector: { matchLabels: { 'refit.io/metrics': 'true' } } }], ports: [{ protocol: 'TCP', port: 'metrics' }] }] });
  });
});

describe('deploy/docker', () => {
  const dockerfile = readFileSync(deploy('docker/Dockerfile'), 'utf8');

  it('installs every workspace package', () => {
    const workspaces = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    const dirs = workspaces.flatMap((w) =>
      w.endsWith('/*') ? execFileSync('ls', [join(REPO_ROOT, w.slice(0, -2))], { encoding: 'utf8' }).trim().split('\n').map((d) => `${w.slice(0, -2)}/${d}`) : [w],
    );
    for (const d of dirs) expect(dockerfile, `${d}/package.json is not copied`).toContain(`COPY ${d}/package.json ${d}/`);
  });

  it('runs as the non-root node user with the health port set and a HEALTHCHECK, from compiled JavaScript', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime.match(/^USER (.+)$/gm)).toEqual(['USER node']);
    expect(runtime).toMatch(new RegExp(`^ENV .*REFIT_HEALTH_PORT=${HEALTH_PORT}`, 'm'));
    expect(runtime).toMatch(/^HEALTHCHECK .*CMD \["node", "\/app\/healthcheck\.mjs"\]$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node"\]$/m);
    expect(runtime).not.toMatch(/tsx|@refit\/source|\/src\//);
  });

  // Each target, from its FROM to the next.
  const target = (name: string): string => {
    const at = dockerfile.indexOf(`FROM runtime AS ${name}\n`);
    expect(at, `no target ${name}`).toBeGreaterThan(0);
    const next = dockerfile.indexOf('\nFROM ', at + 1);
    return dockerfile.slice(at, next < 0 ? undefined : next);
  };

  it('has a target per service: its compiled dist, its port and the health port, its title', () => {
    for (const s of SERVICES) {
      const t = target(s);
      expect(t).toContain(`COPY --from=build /out/services/${s} services/${s}`);
      expect(t).toMatch(new RegExp(`^EXPOSE ${DEFAULT_PORTS[s]} ${HEALTH_PORT} ${METRICS_PORT}$`, 'm'));
      expect(t).toContain(`CMD ["services/${s}/dist/main.js"]`);
      expect(t).toContain(`org.opencontainers.image.title="refit-${s}"`);
      // Only its own service.
      expect(t.match(/\/out\/services\/(\w+)/g)).toEqual([`/out/services/${s}`]);
    }
    const console = target('console');
    expect(console).toContain('CMD ["services/console/dist/main.js"]');
    expect(console).toMatch(/^HEALTHCHECK .*CMD \["node", "\/app\/healthcheck\.mjs", "http"\]$/m);
  });

  it('labels the images with the root package.json version by default, and their source', () => {
    expect(dockerfile).toMatch(new RegExp(`^ARG VERSION=${VERSION.replaceAll('.', '\\.')}$`, 'm'));
    expect(dockerfile).toMatch(/org\.opencontainers\.image\.version="\$VERSION"/);
    expect(dockerfile).toMatch(/org\.opencontainers\.image\.source="\$SOURCE"/);
  });
});

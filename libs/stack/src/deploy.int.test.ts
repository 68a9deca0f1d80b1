import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '@refit/platform';
import { REPO_ROOT, SERVICES } from './stack.js';

const deploy = (...p: string[]) => join(REPO_ROOT, 'deploy', ...p);

describe('deploy/', () => {
  it('the compose file is valid (docker-compose config -q, offline)', () => {
    execFileSync('docker-compose', ['-f', deploy('compose/docker-compose.yml'), 'config', '-q'], { stdio: 'pipe' });
  });

  it('compose runs Postgres, NATS JetStream, MinIO and every service on its default port', () => {
    const compose = parse(readFileSync(deploy('compose/docker-compose.yml'), 'utf8')) as { services: Record<string, { command?: string[]; ports?: string[]; image?: string }> };
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES, 'postgres', 'nats', 'minio'].sort());
    expect(compose.services.nats.command).toContain('-js');
    for (const s of SERVICES) {
      expect(compose.services[s].command).toEqual([`services/${s}/src/main.ts`]);
      expect(compose.services[s].ports).toEqual([`${DEFAULT_PORTS[s]}:${DEFAULT_PORTS[s]}`]);
    }
  });

  it('each service has a Kubernetes Deployment and Service with a gRPC health probe', () => {
    for (const s of SERVICES) {
      const text = readFileSync(deploy('k8s', `${s}.yaml`), 'utf8');
      const [deployment, service] = text.split('\n---\n').map((d) => parse(d) as Record<string, unknown>);
      expect(deployment).toMatchObject({ kind: 'Deployment', metadata: { name: `refit-${s}` } });
      expect(JSON.stringify(deployment)).toContain(`"grpc":{"port":${DEFAULT_PORTS[s]}}`);
      expect(service).toMatchObject({ kind: 'Service', spec: { ports: [{ port: DEFAULT_PORTS[s] }] } });
    }
  });

  it('the Dockerfile installs every workspace package', () => {
    const dockerfile = readFileSync(deploy('docker/Dockerfile'), 'utf8');
    const workspaces = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    const dirs = workspaces.flatMap((w) =>
      w.endsWith('/*') ? execFileSync('ls', [join(REPO_ROOT, w.slice(0, -2))], { encoding: 'utf8' }).trim().split('\n').map((d) => `${w.slice(0, -2)}/${d}`) : [w],
    );
    for (const d of dirs) expect(dockerfile, `${d}/package.json is not copied`).toContain(`COPY ${d}/package.json ${d}/`);
  });
});

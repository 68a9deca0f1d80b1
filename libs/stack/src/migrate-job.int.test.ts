import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@refit/testing';
import type { K8sObject } from './k8s-checks.js';
import { REPO_ROOT, SERVICES } from './stack.js';

type Container = { env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; envFrom?: { configMapRef?: { name: string } }[] };

/** Runs a service's main.ts as the image would, with `env` only; resolves with its exit code and output. */
function runMain(service: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', join(REPO_ROOT, `services/${service}/src/main.ts`)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((done) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, out });
    }),
  );
}

describe('the prod overlay\'s migrate Jobs, run as each service\'s main with their own environment', () => {
  let env: TestEnv;
  let jobs: K8sObject[];
  let config: Record<string, string>;
  beforeAll(async () => {
    env = await createTestEnv({ name: 'migrate-job' });
    const objects = parseAllDocuments(execFileSync('kubectl', ['kustomize', join(REPO_ROOT, 'deploy/k8s/overlays/prod')], { encoding: 'utf8' })).map((d) => d.toJSON() as K8sObject);
    jobs = objects.filter((o) => o.kind === 'Job');
    config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'refit-config')!.data!;
  });
  afterAll(() => env.cleanup());

  it('migrates each schema and exits 0, in production, with no TLS, event key, NATS or S3 reachable', { timeout: 180_000 }, async () => {
    const results = await Promise.all(
      SERVICES.map(async (s) => {
        const job = jobs.find((j) => j.metadata.name === `refit-migrate-${s}`);
        expect(job, s).toBeDefined();
        const [c] = (job!.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;
        expect(c.envFrom).toEqual([{ configMapRef: { name: 'refit-config' } }]);
        const vars: Record<string, string> = { ...config, REFIT_SCHEMA_PREFIX: env.schemaPrefix, REFIT_LOG_LEVEL: 'info' };
        for (const e of c.env ?? []) {
          // The owner's URL comes from refit-postgres-owner: here, the test server's.
          if (e.valueFrom?.secretKeyRef) vars[e.name] = e.valueFrom.secretKeyRef.name === 'refit-postgres-owner' ? env.pgUrl : 'unexpected secret';
          else vars[e.name] = e.value ?? '';
        }
        // Nothing listens there: a process that tried NATS or S3 would fail or hang.
        Object.assign(vars, { REFIT_NATS_URL: 'nats://127.0.0.1:1', REFIT_S3_URL: 'http://127.0.0.1:1' });
        return [s, await runMain(s, vars)] as const;
      }),
    );
    const client = new pg.Client({ connectionString: env.pgUrl });
    await client.connect();
    try {
      for (const [s, { code, out }] of results) {
        expect(code, `${s}: ${out}`).toBe(0);
        expect(out, s).toContain(`REFIT_MIGRATE=only: applied`);
        expect(out, s).not.toMatch(/gRPC server listening|started/);
        const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(env.schema(s))}.schema_migrations`);
        expect(rows[0].n, s).toBeGreaterThan(3);
      }
    } finally {
      await client.end();
    }
  });
});

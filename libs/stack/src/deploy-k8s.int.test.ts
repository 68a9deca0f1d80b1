import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { credentialProblems, productionProblems, workloadProblems, type K8sObject } from './k8s-checks.js';
import { REPO_ROOT, SERVICES } from './stack.js';

const k8s = (...p: string[]) => join(REPO_ROOT, 'deploy/k8s', ...p);
const render = (dir: string): K8sObject[] => parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJSON() as K8sObject);

/** The Kubernetes OpenAPI schema of each kind Refit renders (kubernetes-models, validated with ajv). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

/** Every object against its kind's schema: wrong types, missing required fields, bad enums. */
function schemaProblems(objects: K8sObject[]): string[] {
  return objects.flatMap((o) => {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!Model) return [`${o.apiVersion} ${o.kind} ${o.metadata.name}: no schema to check it against`];
    try {
      new Model(o as never).validate();
      return [];
    } catch (err) {
      return [`${o.kind} ${o.metadata.name}: ${err instanceof Error ? err.message : String(err)}`];
    }
  });
}

type Pod = { spec: { containers: { name: string; image: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[]; resources?: { requests?: Record<string, string>; limits?: Record<string, string> }; readinessProbe?: unknown; securityContext?: Record<string, unknown> }[]; securityContext?: Record<string, unknown>; topologySpreadConstraints?: unknown[] } };
const pod = (o: K8sObject) => (o.spec as { template: Pod }).template;
const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;

describe.each([
  ['base', k8s('base')],
  ['dev', k8s('overlays/dev')],
  ['prod', k8s('overlays/prod')],
])('deploy/k8s %s', (_name, dir) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render(dir);
  });

  it('renders offline, every object valid against the Kubernetes schema of its kind', () => {
    expect(objects.length).toBeGreaterThan(15);
    expect(schemaProblems(objects)).toEqual([]);
  });

  it('gives every Deployment (and Job) gRPC-health probes, requests and a memory limit, non-root, read-only', () => {
    expect(workloadProblems(objects)).toEqual([]);
  });

  it('keeps credentials out of ConfigMaps and plain values: only secretKeyRef', () => {
    expect(credentialProblems(objects)).toEqual([]);
  });

  it('sizes each service from its measured use: the trainer and ingestion have the most room', () => {
    const limit = (s: string) => pod(find(objects, 'Deployment', `refit-${s}`)).spec.containers[0].resources?.limits?.memory;
    expect(limit('trainer')).toBe('2Gi');
    expect(limit('ingestion')).toBe('1Gi');
    expect(limit('registry')).toBe('512Mi');
  });
});

describe('deploy/k8s overlays', () => {
  let dev: K8sObject[];
  let prod: K8sObject[];
  beforeAll(() => {
    dev = render(k8s('overlays/dev'));
    prod = render(k8s('overlays/prod'));
  });

  it('dev: one replica each from its own local image refit-<service>:local, migrating itself', () => {
    for (const s of SERVICES) {
      const d = find(dev, 'Deployment', `refit-${s}`);
      expect((d.spec as { replicas: number }).replicas, s).toBe(1);
      const [c] = pod(d).spec.containers;
      expect(c.image).toBe(`refit-${s}:local`);
      expect(c.args).toBeUndefined();
      expect(c.env?.find((e) => e.name === 'REFIT_MIGRATE'), s).toBeUndefined();
    }
    expect(pod(find(dev, 'Deployment', 'refit-console')).spec.containers[0].image).toBe('refit-console:local');
    expect(dev.filter((o) => o.kind === 'Job' || o.kind === 'PodDisruptionBudget')).toEqual([]);
  });

  it('prod: replicated, spread, a PDB each, the deployer autoscaled, migrations by Job, services verifying', () => {
    expect(productionProblems(prod, SERVICES)).toEqual([]);
    for (const s of SERVICES) {
      const [c] = pod(find(prod, 'Deployment', `refit-${s}`)).spec.containers;
      expect(c.image).toBe(`registry.example.com/refit/refit-${s}:0.1.0`);
      expect(c.args).toBeUndefined();
    }
    const [console] = pod(find(prod, 'Deployment', 'refit-console')).spec.containers;
    expect(console.image).toBe('registry.example.com/refit/refit-console:0.1.0');
    expect(console.env?.find((e) => e.name === 'REFIT_MIGRATE')).toBeUndefined();
  });

  it('runs the console viewer-only: no token, no client certificate, only the CA mounted', () => {
    for (const objects of [dev, prod]) {
      const spec = pod(find(objects, 'Deployment', 'refit-console')).spec as Pod['spec'] & { volumes?: { secret?: { secretName: string } }[] };
      expect((spec.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []))).toEqual(['refit-console-ca']);
      expect(spec.containers[0].env?.some((e) => /TOKEN|PASSWORD|_KEY$/.test(e.name))).toBe(false);
    }
  });

  it('dev fails the production checks: they notice what a production deployment needs', () => {
    const problems = productionProblems(dev, SERVICES);
    for (const what of ['fewer than 2 replicas', 'no PodDisruptionBudget', 'not spread across nodes', 'REFIT_MIGRATE=verify', 'no migrate Job']) {
      expect(problems.some((p) => p.includes(what)), what).toBe(true);
    }
    expect(problems).toContain('no autoscaling/v2 HorizontalPodAutoscaler targets the deployer');
  });

  // Each check fails when what it looks for is taken away from a correct render.
  const without = (change: (objects: K8sObject[]) => void): K8sObject[] => {
    const copy = structuredClone(prod);
    change(copy);
    return copy;
  };
  const trainer = (objects: K8sObject[]) => pod(find(objects, 'Deployment', 'refit-trainer')).spec;

  it.each<[string, (o: K8sObject[]) => void, (o: K8sObject[]) => string[], string]>([
    ['a readiness probe', (o) => delete trainer(o).containers[0].readinessProbe, workloadProblems, 'Deployment refit-trainer/trainer: no readinessProbe on gRPC health (port 8086)'],
    ['a memory limit', (o) => delete trainer(o).containers[0].resources?.limits, workloadProblems, 'Deployment refit-trainer/trainer: no memory limit'],
    ['the requests', (o) => delete trainer(o).containers[0].resources?.requests, workloadProblems, 'Deployment refit-trainer/trainer: no CPU and memory requests'],
    ['non-root', (o) => (delete trainer(o).securityContext, delete trainer(o).containers[0].securityContext?.runAsNonRoot), workloadProblems, 'Deployment refit-trainer/trainer: not run as non-root'],
    ['the read-only root', (o) => (trainer(o).containers[0].securityContext!.readOnlyRootFilesystem = false), workloadProblems, 'Deployment refit-trainer/trainer: root filesystem not read-only'],
    ['a Secret reference', (o) => (trainer(o).containers[0].env!.find((e) => e.name === 'REFIT_PG_URL')!.valueFrom = { configMapKeyRef: { name: 'refit-config', key: 'pg' } }), credentialProblems, 'Deployment refit-trainer/trainer: REFIT_PG_URL is a credential not from a Secret'],
    ['credentials out of ConfigMaps', (o) => (find(o, 'ConfigMap', 'refit-config').data!.REFIT_NATS_PASSWORD = 'hunter2'), credentialProblems, 'ConfigMap refit-config: REFIT_NATS_PASSWORD holds a credential'],
    ['a PodDisruptionBudget', (o) => o.splice(o.indexOf(find(o, 'PodDisruptionBudget', 'refit-trainer')), 1), (o) => productionProblems(o, SERVICES), 'refit-trainer: no PodDisruptionBudget with minAvailable 1'],
    ['the autoscaler', (o) => o.splice(o.indexOf(find(o, 'HorizontalPodAutoscaler', 'refit-deployer')), 1), (o) => productionProblems(o, SERVICES), 'no autoscaling/v2 HorizontalPodAutoscaler targets the deployer'],
    ['the migrate Job', (o) => o.splice(o.indexOf(find(o, 'Job', 'refit-migrate-trainer')), 1), (o) => productionProblems(o, SERVICES), 'refit-trainer: no migrate Job running registry.example.com/refit/refit-trainer:0.1.0 with REFIT_MIGRATE=only'],
    ['REFIT_MIGRATE=verify', (o) => (trainer(o).containers[0].env = trainer(o).containers[0].env!.filter((e) => e.name !== 'REFIT_MIGRATE')), (o) => productionProblems(o, SERVICES), 'refit-trainer: not started with REFIT_MIGRATE=verify'],
    ['the topology spread', (o) => delete trainer(o).topologySpreadConstraints, (o) => productionProblems(o, SERVICES), 'refit-trainer: replicas not spread across nodes'],
    ['valid types', (o) => ((find(o, 'Deployment', 'refit-trainer').spec as { replicas: unknown }).replicas = 'two'), schemaProblems, 'Deployment refit-trainer: data/spec/replicas must be integer'],
  ])('fails without %s', (_what, remove, check, problem) => {
    expect(check(prod)).not.toContain(problem);
    expect(check(without(remove))).toContain(problem);
  });
});

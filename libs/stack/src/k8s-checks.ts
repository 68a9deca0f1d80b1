/**
 * What a platform team expects of Refit's rendered Kubernetes objects (deploy/k8s), as checks that
 * return the problems they find: an empty list passes. Pure: the objects come from `kubectl
 * kustomize`, the schema check lives in the test (deploy-k8s.int.test.ts).
 */

/** A rendered Kubernetes object, as far as these checks read it. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; data?: Record<string, string>; spec?: Record<string, unknown> };

type Probe = { grpc?: { port: number }; httpGet?: { path?: string } };
type SecurityContext = { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } };
type Container = {
  name: string;
  image?: string;
  env?: EnvVar[];
  securityContext?: SecurityContext;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
};
type PodSpec = { securityContext?: SecurityContext; containers: Container[]; topologySpreadConstraints?: { topologyKey: string }[] };
type PodTemplate = { metadata?: { labels?: Record<string, string> }; spec: PodSpec };

/** The plaintext health-only port every probe calls (REFIT_HEALTH_PORT). */
export const HEALTH_PORT = 8086;
/** A variable or key that names a credential; its value may only be the path of a mounted file. */
export const CREDENTIAL_NAME = /PASSWORD|SECRET|_KEY$|TOKEN$|_PG_URL$/;
const isMountedPath = (v: string) => /^\/run\/refit\/[\w./-]+$/.test(v);
// A URL with a password, or key material.
const CREDENTIAL_VALUE = /PRIVATE KEY|:\/\/[^/\s:@]+:[^/\s@]+@/;

const template = (o: K8sObject) => (o.spec as { template: PodTemplate }).template;
const of = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
/** The Deployment of each Refit service (not NATS, not a Job). */
const serviceDeployments = (objects: K8sObject[]) => of(objects, 'Deployment').filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'refit');
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);

/** Probes on gRPC health (the console's on GET /healthz), requests and a memory limit, non-root and a read-only root filesystem. */
export function workloadProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const w of [...serviceDeployments(objects), ...of(objects, 'Job')]) {
    const pod = template(w).spec;
    for (const c of pod.containers) {
      const what = `${w.kind} ${w.metadata.name}/${c.name}`;
      if (w.kind === 'Deployment') {
        // The console speaks HTTP only: its probes ask GET /healthz.
        const console = w.metadata.labels?.['app.kubernetes.io/component'] === 'console';
        for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
          if (console && c[probe]?.httpGet?.path !== '/healthz') problems.push(`${what}: no ${probe} on GET /healthz`);
          if (!console && c[probe]?.grpc?.port !== HEALTH_PORT) problems.push(`${what}: no ${probe} on gRPC health (port ${HEALTH_PORT})`);
        }
      }
      if (!c.resources?.requests?.cpu || !c.resources.requests.memory) problems.push(`${what}: no CPU and memory requests`);
      if (!c.resources?.limits?.memory) problems.push(`${what}: no memory limit`);
      const sc = { ...pod.securityContext, ...c.securityContext };
      if (sc.runAsNonRoot !== true || !sc.runAsUser) problems.push(`${what}: not run as non-root`);
      if (c.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${what}: root filesystem not read-only`);
    }
  }
  return problems;
}

/** No credential in a ConfigMap or a plain env value: only secretKeyRef (or a mounted Secret's path). */
export function credentialProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const cm of of(objects, 'ConfigMap')) {
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      if (CREDENTIAL_NAME.test(k) && !isMountedPath(v)) problems.push(`ConfigMap ${cm.metadata.name}: ${k} holds a credential`);
      if (CREDENTIAL_VALUE.test(v)) problems.push(`ConfigMap ${cm.metadata.name}: ${k} holds a password or a key`);
      // Passwords in the NATS config are references nats-server fills in from the environment.
      for (const [, pw] of v.matchAll(/password:\s*([^,\s}]+)/g)) if (!/^\$REFIT_NATS_[A-Z]+_PASSWORD$/.test(pw)) problems.push(`ConfigMap ${cm.metadata.name}: ${k} holds a NATS password`);
    }
  }
  for (const w of [...of(objects, 'Deployment'), ...of(objects, 'StatefulSet'), ...of(objects, 'Job')]) {
    for (const c of template(w).spec.containers) {
      for (const e of c.env ?? []) {
        const what = `${w.kind} ${w.metadata.name}/${c.name}: ${e.name}`;
        if (e.value !== undefined && (CREDENTIAL_VALUE.test(e.value) || (CREDENTIAL_NAME.test(e.name) && !isMountedPath(e.value)))) problems.push(`${what} is a credential in plain text`);
        if (CREDENTIAL_NAME.test(e.name) && e.valueFrom && !e.valueFrom.secretKeyRef) problems.push(`${what} is a credential not from a Secret`);
      }
    }
  }
  return problems;
}

/** Production: replicas, a PDB and spread per service, the deployer's autoscaler, migrations by Job. */
export function productionProblems(objects: K8sObject[], services: readonly string[]): string[] {
  const problems: string[] = [];
  const hpas = of(objects, 'HorizontalPodAutoscaler');
  for (const s of services) {
    const name = `refit-${s}`;
    const d = serviceDeployments(objects).find((o) => o.metadata.name === name);
    if (!d) {
      problems.push(`no Deployment ${name}`);
      continue;
    }
    const pod = template(d);
    const labels = pod.metadata?.labels ?? {};
    const [c] = pod.spec.containers;
    const hpa = hpas.find((h) => (h.spec as { scaleTargetRef?: { kind: string; name: string } }).scaleTargetRef?.name === name);
    const replicas = (d.spec as { replicas?: number }).replicas ?? (hpa?.spec as { minReplicas?: number } | undefined)?.minReplicas ?? 1;
    if (replicas < 2) problems.push(`${name}: fewer than 2 replicas`);
    const pdb = of(objects, 'PodDisruptionBudget').find((p) => {
      const sel = (p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
      return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
    });
    if ((pdb?.spec as { minAvailable?: number } | undefined)?.minAvailable !== 1) problems.push(`${name}: no PodDisruptionBudget with minAvailable 1`);
    if (!pod.spec.topologySpreadConstraints?.some((t) => t.topologyKey === 'kubernetes.io/hostname')) problems.push(`${name}: replicas not spread across nodes`);
    if (envOf(c, 'REFIT_MIGRATE')?.value !== 'verify') problems.push(`${name}: not started with REFIT_MIGRATE=verify`);
    const job = of(objects, 'Job').find((j) => template(j).spec.containers.some((m) => m.image === c.image && envOf(m, 'REFIT_MIGRATE')?.value === 'only'));
    if (!job) problems.push(`${name}: no migrate Job running ${c.image ?? 'its image'} with REFIT_MIGRATE=only`);
    else if (template(job).spec.containers.some((m) => envOf(m, 'REFIT_PG_URL')?.valueFrom?.secretKeyRef?.name !== 'refit-postgres-owner')) problems.push(`${job.metadata.name}: not run with the owner's URL (refit-postgres-owner)`);
  }
  const deployer = hpas.find((h) => (h.spec as { scaleTargetRef?: { kind: string; name: string } }).scaleTargetRef?.name === 'refit-deployer');
  type Hpa = { minReplicas?: number; maxReplicas?: number; scaleTargetRef: { kind: string }; metrics?: { type: string; resource?: { name: string; target: { type: string } } }[] };
  const spec = deployer?.spec as Hpa | undefined;
  if (!deployer || deployer.apiVersion !== 'autoscaling/v2' || spec?.scaleTargetRef.kind !== 'Deployment') problems.push('no autoscaling/v2 HorizontalPodAutoscaler targets the deployer');
  else {
    if (spec.minReplicas !== 2 || spec.maxReplicas !== 10) problems.push('the deployer autoscales outside 2 to 10 replicas');
    if (!spec.metrics?.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization')) problems.push('the deployer does not autoscale on CPU utilisation');
  }
  return problems;
}

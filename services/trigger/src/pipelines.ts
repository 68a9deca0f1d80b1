import { timestampNow } from '@bufbuild/protobuf/wkt';
import { EVENTS, InvalidInputError, newRunId, NotFoundError, UnavailableError, withTransaction, type FieldViolation, type ServiceRuntime } from '@refit/platform';
import { parseSpec, SpecError, type PipelineSpec } from '@refit/spec';
import type pg from 'pg';
import { getPipeline, insertRun, savePipelineVersion, type PipelineRow, type RunRow } from './store.js';
import { checkWebhookHost, isWebhookAddressRefused, NO_ALLOW, type WebhookAddressPolicy } from './webhook-address.js';

/**
 * The BadRequest field violations of a spec's problems (`features[1].type: …`): each at
 * `spec_yaml.<its path in the spec>`, or at `spec_yaml` when it names no field (`(yaml): …`).
 */
export function specViolations(problems: readonly string[]): FieldViolation[] {
  return problems.map((p) => {
    const m = /^([A-Za-z_][\w.[\]"-]*): (.*)$/s.exec(p);
    return m ? { field: `spec_yaml.${m[1]}`, description: m[2] } : { field: 'spec_yaml', description: p };
  });
}

/**
 * The problems of a spec's webhook URLs, as `alerts.webhooks[i].url: …`: each host must resolve,
 * and only to addresses `policy` allows. Throws UnavailableError when DNS cannot answer for now.
 */
async function webhookProblems(spec: PipelineSpec, policy: WebhookAddressPolicy): Promise<string[]> {
  const problems = await Promise.all(
    spec.alerts.webhooks.map(async (w, i) => {
      const where = `alerts.webhooks[${i}].url`;
      const host = new URL(w.url).hostname;
      try {
        await checkWebhookHost(host, policy);
        return undefined;
      } catch (e) {
        if (isWebhookAddressRefused(e)) return `${where}: ${e.message}`;
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA') return `${where}: host ${host} does not resolve (${code}); a webhook must name a host the trigger service can resolve`;
        throw new UnavailableError(`${where}: could not resolve host ${host} (${code ?? (e as Error).message}); try again`, { cause: e });
      }
    }),
  );
  return problems.filter((p): p is string => p !== undefined);
}

/**
 * Validates a YAML spec and stores it as the pipeline's next version (unless it is unchanged).
 * Webhooks must reach addresses `webhooks` allows (default: public addresses only).
 */
export async function applyPipeline(rt: Pick<ServiceRuntime, 'pool' | 'publish'>, specYaml: string, webhooks: WebhookAddressPolicy = { allow: NO_ALLOW }): Promise<{ pipeline: PipelineRow; changed: boolean }> {
  let spec: PipelineSpec;
  try {
    spec = parseSpec(specYaml);
  } catch (e) {
    if (e instanceof SpecError) throw new InvalidInputError(e.message, { cause: e, details: { problems: e.problems }, violations: specViolations(e.problems) });
    throw e;
  }
  // Resolved before the transaction: DNS can be slow, and a lock must not wait on it.
  const problems = await webhookProblems(spec, webhooks);
  if (problems.length > 0) throw new InvalidInputError(`invalid pipeline spec: ${problems.join('; ')}`, { details: { problems }, violations: specViolations(problems) });
  const specJson = JSON.stringify(spec);
  const name = spec.name;
  return withTransaction(rt.pool, async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [name]);
    const current = await getPipeline(tx, name, true);
    if (current && current.spec_json === specJson) return { pipeline: current, changed: false };
    const version = (current?.version ?? 0) + 1;
    const pipeline = await savePipelineVersion(tx, { name, version, specJson, specYaml });
    await rt.publish(tx, EVENTS.pipelineApplied, { pipeline: name, version, specJson });
    return { pipeline, changed: true };
  });
}

/** Starts a run of a pipeline within `tx`: records it and emits `run.requested`. */
export async function startRun(
  rt: Pick<ServiceRuntime, 'publish'>,
  tx: pg.PoolClient,
  r: { pipeline: string; triggerKind: string; reason: string; decisionId?: string },
): Promise<RunRow> {
  const pipeline = await getPipeline(tx, r.pipeline);
  if (!pipeline) throw new NotFoundError(`pipeline '${r.pipeline}' not found; apply it first with 'refit pipeline apply -f <spec.yaml>'`);
  const runId = newRunId();
  const run = await insertRun(tx, { runId, pipeline: r.pipeline, specVersion: pipeline.version, triggerKind: r.triggerKind, reason: r.reason, decisionId: r.decisionId });
  await rt.publish(
    tx,
    EVENTS.runRequested,
    {
      context: { runId, pipeline: r.pipeline, specVersion: pipeline.version, specJson: pipeline.spec_json, triggerKind: r.triggerKind, triggerReason: r.reason },
      requestedAt: timestampNow(),
    },
    { runId, traceId: runId },
  );
  return run;
}

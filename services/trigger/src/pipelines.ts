import { randomBytes } from 'node:crypto';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { EVENTS, InvalidInputError, NotFoundError, withTransaction, type ServiceRuntime } from '@refit/platform';
import { parseSpec, SpecError } from '@refit/spec';
import type pg from 'pg';
import { getPipeline, insertRun, savePipelineVersion, type PipelineRow, type RunRow } from './store.js';

/** Validates a YAML spec and stores it as the pipeline's next version (unless it is unchanged). */
export async function applyPipeline(rt: ServiceRuntime, specYaml: string): Promise<{ pipeline: PipelineRow; changed: boolean }> {
  let specJson: string;
  let name: string;
  try {
    const spec = parseSpec(specYaml);
    specJson = JSON.stringify(spec);
    name = spec.name;
  } catch (e) {
    if (e instanceof SpecError) throw new InvalidInputError(e.message, { cause: e, details: { problems: e.problems } });
    throw e;
  }
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

/** A new run id: time-ordered, short and readable (`r-<base36 ms>-<6 hex>`). */
export function newRunId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Starts a run of a pipeline within `tx`: records it and emits `run.requested`. */
export async function startRun(
  rt: ServiceRuntime,
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

import { ConflictError, EVENTS, wireRef, withTransaction, type ArtifactRef, type ServiceRuntime } from '@refit/platform';
import type { ColumnSpec, PipelineSpec } from '@refit/spec';
import type { BatchVerdict } from './batch-checks.js';
import type { BatchProfile } from './profile.js';
import type { QuarantineSpool } from './quarantine-spool.js';
import { insertBatch, insertQuarantine, pinProfile, pinSchema, resolveQuarantine, setWatermark, type Watermark } from './store.js';

/** How many problems a data.rejected event lists. */
const PROBLEMS_IN_EVENT = 20;

type Base = { spec: PipelineSpec; batchId: string; filename: string; format: string; rawRef: ArtifactRef; source: string };

/**
 * An incremental source's watermark moved while a batch's rows were read past it: another reader
 * (a concurrent import, another attempt at a run's feedback) took those rows in first, so this
 * batch was not recorded — recording it too would hold every row twice.
 */
export class WatermarkMovedError extends ConflictError {
  constructor(
    readonly pipeline: string,
    readonly source: string,
    readonly after: string | undefined,
  ) {
    super(`the rows of source '${source}' of pipeline '${pipeline}' past ${after ?? '(the start)'} were taken in by another reader meanwhile; nothing was recorded`, {
      details: { pipeline, source, after: after ?? '' },
    });
  }
}

/** What recording a batch uses: the pool, the outbox and its relay. */
export type RecordDeps = Pick<ServiceRuntime, 'pool' | 'publish' | 'relay'>;

/**
 * Records a judged batch, its quarantined rows and its events in one transaction: data.ingested
 * for a batch training may use (accepted or flagged), data.rejected when rows were quarantined or
 * the batch was rejected (its rows stay stored; nothing is dropped silently). The first usable
 * batch's profile is pinned (with `pin: latest`, every usable batch's); a re-submission resolves
 * the quarantined rows it fixes; an incremental source's watermark moves with the batch that
 * took its rows, only from where those rows were read past.
 * @throws WatermarkMovedError when another batch moved the watermark first (nothing is recorded).
 */
export async function recordBatch(
  rt: RecordDeps,
  b: Base & {
    rowsRef: ArtifactRef;
    rowsTotal: number;
    rowsAccepted: number;
    quarantine: QuarantineSpool;
    profile: BatchProfile;
    verdict: BatchVerdict;
    pin: boolean;
    resubmits?: string;
    watermark?: Watermark;
    /** The schema this (first) batch inferred: pinned with it when the batch is usable. */
    schema?: { columns: ColumnSpec[]; rows: number };
  },
): Promise<void> {
  const { spec, batchId, verdict } = b;
  const usable = verdict.status !== 'rejected';
  await withTransaction(rt.pool, async (tx) => {
    const w = b.watermark;
    if (w && !(await setWatermark(tx, { pipeline: spec.name, source: w.source, value: w.value, after: w.after, batchId }))) throw new WatermarkMovedError(spec.name, w.source, w.after);
    await insertBatch(tx, {
      batchId,
      pipeline: spec.name,
      filename: b.filename,
      format: b.format,
      source: b.source,
      status: verdict.status,
      rejectReason: usable ? undefined : verdict.problems.join('; '),
      problems: verdict.problems,
      warnings: verdict.warnings,
      profile: b.profile,
      sha256: b.rawRef.sha256,
      rawKey: b.rawRef.key,
      rowsKey: b.rowsRef.key,
      rowsTotal: b.rowsTotal,
      rowsAccepted: b.rowsAccepted,
      rowsQuarantined: b.quarantine.count,
    });
    for await (const part of b.quarantine.chunks(5000)) await insertQuarantine(tx, spec.name, batchId, part);
    if (usable && b.rowsAccepted > 0 && (b.pin || spec.schema.batch.pin === 'latest')) await pinProfile(tx, spec.name, batchId, b.profile, spec.schema.batch.pin);
    if (usable && b.rowsAccepted > 0 && b.schema) await pinSchema(tx, spec.name, batchId, b.schema.columns, b.schema.rows);
    if (b.resubmits) await resolveQuarantine(tx, spec.name, b.resubmits, batchId);
    if (usable) {
      await rt.publish(tx, EVENTS.dataIngested, {
        pipeline: spec.name,
        batchId,
        rowsTotal: BigInt(b.rowsTotal),
        rowsAccepted: BigInt(b.rowsAccepted),
        rowsQuarantined: BigInt(b.quarantine.count),
        object: wireRef(b.rowsRef),
      });
    }
    if (b.quarantine.count > 0 || !usable) {
      await rt.publish(tx, EVENTS.dataRejected, {
        pipeline: spec.name,
        batchId,
        rowsQuarantined: BigInt(usable ? b.quarantine.count : b.rowsTotal),
        rowsTotal: BigInt(b.rowsTotal),
        problems: [...verdict.problems.map((p) => `batch ${verdict.status}: ${p}`), ...b.quarantine.first(PROBLEMS_IN_EVENT).map((q) => `line ${q.line}: ${q.message}`)].slice(0, PROBLEMS_IN_EVENT),
      });
    }
  });
  rt.relay.kick();
}

/**
 * Records a batch refused before any row was judged (empty, unreadable header, missing columns) and
 * announces it on `data.rejected` (no row counts: none were read) so alerts hear of it.
 */
export async function recordRejected(rt: RecordDeps, b: Base & { reason: string }): Promise<void> {
  await withTransaction(rt.pool, async (tx) => {
    await insertBatch(tx, {
      batchId: b.batchId,
      pipeline: b.spec.name,
      filename: b.filename,
      format: b.format,
      source: b.source,
      status: 'rejected',
      rejectReason: b.reason,
      problems: [b.reason],
      sha256: b.rawRef.sha256,
      rawKey: b.rawRef.key,
      rowsKey: null,
      rowsTotal: 0,
      rowsAccepted: 0,
      rowsQuarantined: 0,
    });
    await rt.publish(tx, EVENTS.dataRejected, { pipeline: b.spec.name, batchId: b.batchId, rowsQuarantined: 0n, rowsTotal: 0n, problems: [`batch rejected: ${b.reason}`] });
  });
  rt.relay.kick();
}

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { LineageSchema, StreamSegmentWritten } from '@refit/contracts';
import { createPrequentialState, prequentialLook, type PrequentialOptions, type PrequentialState } from '@refit/ml';
import { applyTransform, labelsOf, OnlineLearner, type OnlineOptions } from '@refit/modeling';
import { InvalidInputError, isNotFound, UnavailableError, wireRef, type ArtifactRef, type ArtifactStore, type Logger } from '@refit/platform';
import { specFromJson, type PipelineSpec } from '@refit/spec';
import type pg from 'pg';
import type { Champion, ChampionSource } from './stream-champion.js';
import { updateDrift, type DriftState } from './stream-drift.js';
import { ensureLearner, getLearner, type LearnerEvidence, type LearnerRow, type LearnerUpdate } from './stream-store.js';

/** The `online:` options of a pipeline's continuous trigger, with defaults filled in by the spec. */
export type OnlineSettings = NonNullable<Extract<PipelineSpec['triggers'][number], { kind: 'continuous' }>['online']>;

/** What learning one segment produced: nothing to record, or the learner's next state (and a replacement). */
export type SegmentOutcome =
  | { kind: 'skip'; why: string }
  | { kind: 'save'; pipeline: string; previous: number | undefined; update: LearnerUpdate; proven?: Proven; drifted?: Drifted; learned: number };

/** The learned rows' inputs crossed the policy's drift limit: a full batch run is due. */
export type Drifted = { drift: number; limit: number; column: string; championVersion: string };

/** A replacement the learner proved: its snapshot, its evidence, the champion it beat. */
export type Proven = { modelRef: ArtifactRef; evidence: LearnerEvidence; champion: Champion; why: string; streamAt: Date; firstSegment: number; lastSegment: number; updates: number; rows: number; onlineJson: string };

/** One labeled row of a segment (see stream.proto). */
type LabeledRow = { id: string; at?: string; labelAt?: string; row: Record<string, unknown>; label: unknown };

/** Most labeled rows one segment may hand the learner (ingestion's segment limit is lower). */
const MAX_LABELED = 1_000_000;

/** The pipeline's online settings, or undefined when it has no continuous trigger that learns online. */
export function onlineSettingsOf(spec: PipelineSpec): OnlineSettings | undefined {
  for (const t of spec.triggers) if (t.kind === 'continuous' && t.online) return t.online;
  return undefined;
}

function judgeOptions(spec: PipelineSpec, o: OnlineSettings): PrequentialOptions {
  return { head: spec.model.head ?? 'binary', alpha: o.alpha, skillMargin: o.skillMargin, resetWindow: o.resetWindow };
}

function learnerOptions(o: OnlineSettings): OnlineOptions {
  return { learningRate: o.learningRate, decayRows: o.decayRows, maxStep: o.maxStep, l2: o.l2 };
}

function parseLabeled(body: Buffer): LabeledRow[] {
  const out: LabeledRow[] = [];
  for (const line of body.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as LabeledRow;
    if (!r || typeof r !== 'object' || typeof r.row !== 'object' || r.row === null) throw new InvalidInputError(`labeled row ${out.length + 1} is not {id, row, label}`);
    out.push(r);
    if (out.length > MAX_LABELED) throw new InvalidInputError(`a segment holds more than ${MAX_LABELED} labeled rows`);
  }
  return out;
}

/** The labeled rows the learner can use (as raw rows with their label, and the labels), and why the others not. */
function usableRows(all: LabeledRow[], spec: PipelineSpec, head: 'binary' | 'regression'): { rows: LabeledRow[]; raw: Array<Record<string, string | number | boolean | null>>; y: Float32Array; skipped: string[] } {
  const rows: LabeledRow[] = [];
  const raw: Array<Record<string, string | number | boolean | null>> = [];
  const labels: number[] = [];
  const skipped: string[] = [];
  for (const r of all) {
    const row = { ...r.row, [spec.label.column]: r.label } as Record<string, string | number | boolean | null>;
    try {
      labels.push(labelsOf([row], spec.label, head)[0]);
    } catch (err) {
      skipped.push(`${r.id}: ${(err as Error).message}`);
      continue;
    }
    rows.push(r);
    raw.push(row);
  }
  return { rows, raw, y: Float32Array.from(labels), skipped };
}

/** A segment's labeled rows object; one that is gone will not come back (no retry can help). */
async function labeledObject(store: Pick<ArtifactStore, 'get'>, key: string, segment: number): Promise<Buffer> {
  try {
    return await store.get(key);
  } catch (err) {
    if (isNotFound(err)) throw new InvalidInputError(`segment ${segment}'s labeled rows (${key}) are not in the object store`, { cause: err });
    throw err;
  }
}

/** The fewest rows any input's mean in a drift state is made of. */
function minRows(d: DriftState): number {
  const n = Object.values(d.rows);
  return n.length === 0 ? 0 : Math.min(...n);
}

/** Stream time of a labeled row: when its label was known (falls back to the row's time, then now). */
function streamTimeOf(r: LabeledRow | undefined, fallback: Date): Date {
  const t = Date.parse(r?.labelAt ?? r?.at ?? '');
  return Number.isFinite(t) ? new Date(t) : fallback;
}

const toEvidence = (e: { rows: number; learnerLogLoss: number; championLogLoss: number; improvement: number; lower: number; upper: number; pValue: number; alpha: number; learnerAccuracy: number; championAccuracy: number }): LearnerEvidence => ({
  rows: e.rows,
  learnerLogLoss: e.learnerLogLoss,
  championLogLoss: e.championLogLoss,
  improvement: e.improvement,
  lower: e.lower,
  upper: e.upper,
  pValue: e.pValue,
  alpha: e.alpha,
  learnerAccuracy: e.learnerAccuracy,
  championAccuracy: e.championAccuracy,
});

/** Keeps the per-minute counts of the last five minutes, for rows/s. */
function countRecent(recent: Array<[number, number]>, now: Date, rows: number): Array<[number, number]> {
  const minute = Math.floor(now.getTime() / 60_000);
  const kept = recent.filter(([m]) => m > minute - 5);
  const last = kept[kept.length - 1];
  if (last && last[0] === minute) last[1] += rows;
  else kept.push([minute, rows]);
  return kept;
}

/** The stored learner of a pipeline with nothing learned: waiting for a champion or for options. */
function waiting(stored: LearnerRow | undefined, segment: number, why: string, now: Date): LearnerUpdate {
  return {
    segment,
    champion_version: stored?.champion_version ?? '',
    checkpoint: stored?.checkpoint ?? null,
    judge: stored?.judge ?? null,
    state: stored?.checkpoint ? stored.state : 'waiting',
    updates: stored?.updates ?? 0,
    rows_learned: stored?.rows_learned ?? 0,
    first_segment: stored?.first_segment ?? 0,
    resets: stored?.resets ?? 0,
    replacements: stored?.replacements ?? 0,
    last_decision: why,
    last_decision_at: now,
    last_replacement_stream_at: stored?.last_replacement_stream_at ?? null,
    proven_run_id: stored?.proven_run_id ?? '',
    evidence: stored?.evidence ?? null,
    learning_rate: stored?.learning_rate ?? 0,
    transform_drift: stored?.transform_drift ?? 0,
    drift_state: stored?.drift_state ?? null,
    recent: stored?.recent ?? [],
  };
}

/**
 * Applies one persisted segment of a pipeline's stream to its online learner, outside any
 * transaction: each micro-batch of labeled rows is scored by the learner and the champion (test),
 * judged prequentially, then learned from (train). The learner is reset to the champion when the
 * judge finds it worse; it proves a replacement when the judge finds it better and `minInterval`
 * of stream time has passed since the last one. Segments are applied in order, each once: an
 * earlier segment not applied yet makes this one wait (UnavailableError: retried), one applied
 * already is skipped. Nothing here is recorded; the caller saves the outcome in one transaction.
 */
export async function learnSegment(
  deps: { pool: pg.Pool; store: Pick<ArtifactStore, 'get' | 'putContentAddressed'>; champion: ChampionSource; logger: Logger },
  e: StreamSegmentWritten,
  now: Date = new Date(),
): Promise<SegmentOutcome> {
  const pipeline = e.pipeline;
  const segment = Number(e.segment);
  if (!pipeline || !Number.isSafeInteger(segment) || segment < 1) throw new InvalidInputError(`stream.segment names no pipeline or a bad segment number (${e.segment})`);
  const stored = (await getLearner(deps.pool, pipeline)) ?? (await ensureLearner(deps.pool, pipeline, segment).then(() => getLearner(deps.pool, pipeline)));
  if (stored && stored.segment >= segment) return { kind: 'skip', why: `segment ${segment} was applied already` };
  if (stored && stored.segment !== segment - 1) throw new UnavailableError(`segment ${segment} of '${pipeline}' waits for segment ${stored.segment + 1} to be applied first`);
  const previous = stored?.segment;
  let spec: PipelineSpec;
  try {
    spec = specFromJson(e.specJson);
  } catch (err) {
    throw new InvalidInputError(`segment ${segment} of '${pipeline}' carries a spec that does not parse: ${(err as Error).message}`, { cause: err });
  }
  const online = onlineSettingsOf(spec);
  if (!online) return { kind: 'save', pipeline, previous, learned: 0, update: waiting(stored, segment, 'the pipeline has no continuous trigger with online: learning; segments are kept for batch runs', now) };
  const champion = await deps.champion(pipeline);
  if (!champion) return { kind: 'save', pipeline, previous, learned: 0, update: waiting(stored, segment, 'no champion yet: a batch run makes the first one, then the learner starts from it', now) };

  const opts = learnerOptions(online);
  const judgeOpts = judgeOptions(spec, online);
  // Our own replacement became the champion: keep learning from where the learner is, judged anew.
  const ownReplacement = stored?.checkpoint && stored.proven_run_id !== '' && stored.proven_run_id === champion.runId;
  const sameChampion = stored?.checkpoint && stored.champion_version === champion.version;
  let learner: OnlineLearner;
  let judge: PrequentialState;
  let firstSegment: number;
  let decision = stored?.last_decision ?? '';
  let decisionAt = stored?.last_decision_at ?? null;
  let state: LearnerUpdate['state'] = stored?.state === 'waiting' || !stored ? 'learning' : stored.state;
  let provenRunId = stored?.proven_run_id ?? '';
  if (sameChampion && stored.checkpoint) {
    learner = await OnlineLearner.restore(champion.modelBytes, stored.checkpoint, opts);
    judge = (stored.judge as PrequentialState | null) ?? createPrequentialState();
    firstSegment = stored.first_segment || segment;
  } else if (ownReplacement && stored.checkpoint) {
    learner = await OnlineLearner.restore(champion.modelBytes, stored.checkpoint, opts);
    judge = createPrequentialState((stored.judge as PrequentialState | null) ?? undefined);
    firstSegment = segment;
    state = 'learning';
    provenRunId = '';
    decision = `${champion.version} (this learner's replacement) is the champion now; judged anew against it`;
    decisionAt = now;
  } else {
    learner = await OnlineLearner.fromModel(champion.modelBytes, opts);
    judge = createPrequentialState();
    firstSegment = segment;
    state = 'learning';
    provenRunId = '';
    if (stored?.champion_version && stored.champion_version !== champion.version) {
      decision = `champion moved from ${stored.champion_version} to ${champion.version}: the learner starts again from its weights and transform`;
      decisionAt = now;
    }
  }
  try {
    const head = spec.model.head ?? 'binary';
    const { rows, raw, y, skipped } = usableRows(e.labeled?.key && e.labelsJoined > 0n ? parseLabeled(await labeledObject(deps.store, e.labeled.key, segment)) : [], spec, head);
    if (skipped.length > 0) {
      // Ingestion checks labels, so this is a writer that did not: the segment goes on without them.
      decision = `skipped ${skipped.length} labeled row${skipped.length === 1 ? '' : 's'} of segment ${segment} it cannot learn from (${skipped[0]})`;
      decisionAt = now;
      deps.logger.warn({ pipeline, segment, skipped: skipped.length, first: skipped[0] }, 'stream learner skipped labeled rows it cannot learn from');
    }
    const X = applyTransform(champion.transform, raw);
    const d = X.d;
    let resets = stored?.resets ?? 0;
    let updates = sameChampion || ownReplacement ? (stored?.updates ?? 0) : 0;
    let proven: Proven | undefined;
    let evidence = stored?.evidence ?? null;
    let lastReplacement = stored?.last_replacement_stream_at ?? null;
    const minIntervalMs = online.minIntervalHours * 3_600_000;
    for (let start = 0; start < rows.length; start += online.microBatch) {
      const n = Math.min(online.microBatch, rows.length - start);
      const Xc = X.X.subarray(start * d, (start + n) * d);
      const yc = y.subarray(start, start + n);
      const look = prequentialLook(judge, { y: yc, learner: learner.predict(Xc, n), champion: champion.model.predict(Xc, n) }, judgeOpts);
      judge = look.state;
      evidence = toEvidence(look.evidence);
      const streamAt = streamTimeOf(rows[start + n - 1], now);
      if (look.worse) {
        learner.dispose();
        learner = await OnlineLearner.fromModel(champion.modelBytes, opts);
        // The base rate seen so far carries over; the comparison starts again.
        judge = createPrequentialState(judge);
        resets += 1;
        updates = 0;
        firstSegment = segment;
        state = 'learning';
        decision = `reset to champion ${champion.version}: ${look.why}`;
        decisionAt = now;
        deps.logger.info({ pipeline, segment, why: look.why }, 'stream learner reset to the champion');
      }
      learner.update(Xc, yc, n);
      updates += 1;
      const due = !lastReplacement || streamAt.getTime() - lastReplacement.getTime() >= minIntervalMs;
      if (look.better && !proven && due) {
        const modelRef = await deps.store.putContentAddressed(`pipelines/${pipeline}/models`, await learner.serializeModel(), '.refitm');
        proven = { modelRef, evidence: toEvidence(look.evidence), champion, why: look.why, streamAt, firstSegment, lastSegment: segment, updates, rows: look.evidence.rows, onlineJson: JSON.stringify(online) };
        lastReplacement = streamAt;
        state = 'proven';
        decision = `proved better than champion ${champion.version}: ${look.why}`;
        decisionAt = now;
      }
    }
    // Input drift is measured against the transform of the champion in use: a new champion starts it again.
    const keepDrift = stored?.champion_version === champion.version;
    const drift = updateDrift(champion.transform, raw, keepDrift ? stored?.drift_state : undefined, online.resetWindow);
    const driftBefore = keepDrift ? (stored?.transform_drift ?? 0) : 0;
    // A full run is asked for only once the means are made of a window of rows: the first rows of a
    // season are not a shift of the stream.
    const drifted: Drifted | undefined =
      drift.rows >= online.resetWindow && drift.drift > online.driftLimit && (driftBefore <= online.driftLimit || (stored?.drift_state && minRows(stored.drift_state) < online.resetWindow))
        ? { drift: drift.drift, limit: online.driftLimit, column: drift.column, championVersion: champion.version }
        : undefined;
    if (drifted) {
      decision = `inputs drifted from champion ${champion.version}'s frozen transform (${drift.column}: ${drift.drift.toFixed(2)} standard deviations > limit ${online.driftLimit}): a full batch run is asked for`;
      decisionAt = now;
    }
    const update: LearnerUpdate = {
      segment,
      champion_version: champion.version,
      checkpoint: Buffer.from(await learner.checkpoint()),
      judge,
      state,
      updates,
      rows_learned: (sameChampion || ownReplacement ? (stored?.rows_learned ?? 0) : 0) + rows.length,
      first_segment: firstSegment,
      resets,
      replacements: (stored?.replacements ?? 0) + (proven ? 1 : 0),
      last_decision: decision,
      last_decision_at: decisionAt,
      last_replacement_stream_at: lastReplacement,
      proven_run_id: provenRunId,
      evidence,
      learning_rate: learner.learningRate(),
      transform_drift: drift.drift,
      drift_state: drift.state,
      recent: countRecent(stored?.recent ?? [], now, rows.length),
    };
    return { kind: 'save', pipeline, previous, update, proven, drifted, learned: rows.length };
  } finally {
    learner.dispose();
  }
}

/** The lineage of a proven replacement: the champion's transform and features, the learner's model, the stream it learned from. */
export function provenLineage(p: Proven, codeVersion: string, backend: string): MessageInitShape<typeof LineageSchema> {
  const l = p.champion.lineage;
  return {
    transform: l.transform,
    featureNames: l.featureNames,
    model: wireRef(p.modelRef),
    trainingConfigJson: JSON.stringify({ ...(safeJson(l.trainingConfigJson) ?? {}), online: safeJson(p.onlineJson) }),
    seed: l.seed,
    backend,
    codeVersion,
    decisionThreshold: l.decisionThreshold,
    streamStartedFrom: p.champion.version,
    streamFirstSegment: BigInt(p.firstSegment),
    streamLastSegment: BigInt(p.lastSegment),
    streamUpdates: BigInt(p.updates),
    streamRows: BigInt(p.rows),
  };
}

function safeJson(s: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(s) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

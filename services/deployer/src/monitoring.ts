import { create, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { binaryMetrics, binaryRowSums, storedThreshold, type BinaryRowSums } from '@refit/ml';
import { EVENTS, wireRef, withTransaction, type ServiceRuntime } from '@refit/platform';
import type { FeatureWindows } from './feature-window.js';
import { deployerMetrics, LIVE_METRICS } from './metrics.js';
import type { PredictionLog } from './prediction-log.js';

type WindowRow = { version: string; variant: string; predictions: string; latency: number | null; divergence: number | null };
type ErrorRow = { version: string; variant: string; errors: string };
type LabeledRow = { version: string; variant: string; probability: number; feedback_label: number; threshold: number | null };

/** What closing windows uses of the runtime: the database, the object store (feature samples), the outbox and its relay, the metrics. */
export type MonitoringDeps = Pick<ServiceRuntime, 'pool' | 'store' | 'publish' | 'relay' | 'metrics'>;

/**
 * Closes one monitoring window per pipeline: predictions made and feedback received since the
 * last window, metrics per served version and variant (champion, canary, b, shadow) on the
 * labeled rows, each candidate variant's divergence from the champion (mean |p − p_champion| on
 * the rows it scored), and every variant's Predict failures (`errors`, and `errorRate` = failed
 * rows / (served + failed rows)), emitted as `monitoring.window`.
 */
export async function closeWindows(rt: MonitoringDeps, windows: FeatureWindows, now: Date): Promise<number> {
  const pipelines = await rt.pool.query<{ pipeline: string }>('select pipeline from deployments');
  let emitted = 0;
  for (const { pipeline } of pipelines.rows) {
    const sample = windows.take(pipeline);
    let sampleCarried = false;
    const featuresRef = sample.length > 0 ? await rt.store.putContentAddressed(`pipelines/${pipeline}/windows`, Buffer.from(sample.map((r) => JSON.stringify(r)).join('\n') + '\n'), '.jsonl') : undefined;
    await withTransaction(rt.pool, async (tx) => {
      // Every replica closes windows: the last window's end, read under the row's lock, makes
      // theirs follow each other (no prediction counted twice) whoever closes which.
      await tx.query('insert into monitoring_state (pipeline, window_end) values ($1, to_timestamp(0)) on conflict (pipeline) do nothing', [pipeline]);
      const last = await tx.query<{ window_end: Date | null }>('select window_end from monitoring_state where pipeline = $1 for update', [pipeline]);
      const start = last.rows[0]?.window_end ?? new Date(0);
      if (start >= now) return;
      // Each row is counted once, by the window that marks it (see migration 009): one committed
      // after an earlier window closed is in this one, whatever its time says. Rows another
      // transaction holds (feedback being joined) are skipped, left for the next window: a close
      // never waits on a row, so it can never deadlock with a multi-row feedback update.
      const made = await tx.query<WindowRow>(
        `with m as (update predictions set window_made = true
                    where prediction_id in (select prediction_id from predictions where pipeline = $1 and not window_made for update skip locked)
                    returning version, variant, latency_ms, probability, champion_probability, shadow_version, shadow_latency_ms, shadow_probability)
         select version, variant, count(*) as predictions, avg(latency_ms) as latency, avg(abs(probability - champion_probability)) as divergence from m group by version, variant
         union all
         -- Shadow mode: the candidate scored the same rows without answering; its window says how
         -- far it is from the champion (divergence) and how it would have done on the feedback.
         select shadow_version, 'shadow', count(*), avg(shadow_latency_ms), avg(abs(probability - shadow_probability)) from m where shadow_version is not null group by shadow_version`,
        [pipeline],
      );
      const labeled = await tx.query<LabeledRow>(
        `with l as (update predictions set window_labeled = true
                    where prediction_id in (select prediction_id from predictions where pipeline = $1 and feedback_at is not null and not window_labeled for update skip locked)
                    returning version, variant, probability, feedback_label, threshold, shadow_version, shadow_probability, shadow_threshold)
         select version, variant, probability, feedback_label, threshold from l
         union all
         select shadow_version, 'shadow', shadow_probability, feedback_label, shadow_threshold from l where shadow_version is not null`,
        [pipeline],
      );
      const failed = await tx.query<ErrorRow>(
        `with e as (update prediction_errors set window_counted = true where pipeline = $1 and not window_counted returning version, variant, rows)
         select version, variant, sum(rows) as errors from e group by version, variant`,
        [pipeline],
      );
      // What serves as the champion now: a champion window of another version is a retired one's.
      const serving = (await tx.query<{ version: string }>('select version from deployments where pipeline = $1', [pipeline])).rows[0]?.version;
      const keyOf = (r: { version: string; variant: string }) => `${r.version}\u0000${r.variant}`;
      const keys = new Set([...made.rows.map(keyOf), ...labeled.rows.map(keyOf), ...failed.rows.map(keyOf)]);
      for (const key of keys) {
        const [version, variant] = key.split('\u0000');
        const m = made.rows.find((r) => r.version === version && r.variant === variant);
        const rows = labeled.rows.filter((r) => r.version === version && r.variant === variant);
        const metrics: Record<string, number> = {};
        let rowSums: BinaryRowSums | undefined;
        if (rows.length > 0) {
          // Decisions at the version's own threshold; the confusion counts let the trigger service
          // compute the spec's business metrics of counts (the deployer holds no spec).
          // The threshold its answers were decided at, logged with each (one per version; 0.5 for rows logged before).
          const threshold = storedThreshold(rows[0].threshold);
          const y = Float64Array.from(rows, (r) => r.feedback_label);
          const p = Float64Array.from(rows, (r) => r.probability);
          const b = binaryMetrics(y, p, { threshold });
          // Per-row sums let the trigger pool windows into one sample for its sequential test.
          rowSums = binaryRowSums(y, p, { threshold });
          Object.assign(metrics, { accuracy: b.accuracy, logLoss: b.logLoss, brier: b.brier, threshold, ...b.confusion });
          if (b.rocAuc !== null) metrics.auc = b.rocAuc;
        }
        if (m?.divergence !== undefined && m.divergence !== null) metrics.divergence = m.divergence;
        const errors = Number(failed.rows.find((r) => r.version === version && r.variant === variant)?.errors ?? 0);
        metrics.errors = errors;
        metrics.errorRate = errors / Math.max(1, errors + Number(m?.predictions ?? 0));
        const message = create(EVENTS.monitoringWindow.schema, {
          pipeline,
          version,
          variant,
          windowStart: timestampFromDate(start),
          windowEnd: timestampFromDate(now),
          predictions: BigInt(m?.predictions ?? 0),
          labeled: BigInt(rows.length),
          metrics,
          meanLatencyMs: m?.latency ?? 0,
          // The feature sample goes with the champion's window (the rows every variant saw).
          features: variant === 'champion' && featuresRef ? wireRef(featuresRef) : undefined,
          featureRows: BigInt(variant === 'champion' ? sample.length : 0),
          rowSums: rowSums ?? {},
          retired: variant === 'champion' && serving !== undefined && version !== serving,
        });
        await rt.publish(tx, EVENTS.monitoringWindow, message);
        // Kept for ListWindows (live quality read back without replaying the stream).
        await tx.query('insert into monitoring_windows (pipeline, version, variant, window_start, window_end, message) values ($1, $2, $3, $4, $5, $6)', [
          pipeline,
          version,
          variant,
          start,
          now,
          Buffer.from(toBinary(EVENTS.monitoringWindow.schema, message)),
        ]);
        showWindow(rt, { pipeline, version, variant }, metrics, Number(m?.predictions ?? 0), rows.length);
        if (variant === 'champion') sampleCarried = true;
        emitted++;
      }
      await tx.query(
        'insert into monitoring_state (pipeline, window_end) values ($1, $2) on conflict (pipeline) do update set window_end = excluded.window_end',
        [pipeline, now],
      );
    });
    // Rows served just before this close may still be in the prediction log's buffer, so no
    // champion window carried their sample: offer it to the next window instead of losing it.
    if (!sampleCarried && sample.length > 0) windows.add(pipeline, sample);
  }
  if (emitted > 0) rt.relay.kick();
  return emitted;
}

/** Sets the gauges of the last window of one version and variant. */
function showWindow(rt: Pick<ServiceRuntime, 'metrics'>, labels: { pipeline: string; version: string; variant: string }, values: Record<string, number>, predictions: number, labeled: number): void {
  const m = deployerMetrics(rt.metrics);
  m.windowPredictions.set(labels, predictions);
  m.windowLabeled.set(labels, labeled);
  for (const metric of LIVE_METRICS) {
    const v = values[metric];
    if (v !== undefined && Number.isFinite(v)) m.live.set({ ...labels, metric }, v);
  }
}

/** Closes monitoring windows every `windowMs`. */
export function startMonitoring(
  rt: MonitoringDeps & Pick<ServiceRuntime, 'logger'>,
  log: PredictionLog,
  windows: FeatureWindows,
  opts: { windowMs: number; clock?: () => Date },
): { stop(): Promise<void> } {
  const clock = opts.clock ?? (() => new Date());
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(async () => {
        await log.flush();
        await closeWindows(rt, windows, clock());
      })
      .catch((err: unknown) => rt.logger.error({ err }, 'monitoring window failed'));
  }, opts.windowMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

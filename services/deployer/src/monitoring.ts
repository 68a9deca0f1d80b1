import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { binaryMetrics, storedThreshold } from '@refit/ml';
import { EVENTS, wireRef, withTransaction, type ServiceRuntime } from '@refit/platform';
import type { FeatureWindows } from './feature-window.js';
import type { PredictionLog } from './prediction-log.js';

type WindowRow = { version: string; variant: string; predictions: string; latency: number | null; divergence: number | null };
type ErrorRow = { version: string; variant: string; errors: string };
type LabeledRow = { version: string; variant: string; probability: number; feedback_label: number; threshold: number | null };

/**
 * Closes one monitoring window per pipeline: predictions made and feedback received since the
 * last window, metrics per served version and variant (champion, canary, b, shadow) on the
 * labeled rows, each candidate variant's divergence from the champion (mean |p − p_champion| on
 * the rows it scored), and every variant's Predict failures (`errors`, and `errorRate` = failed
 * rows / (served + failed rows)), emitted as `monitoring.window`.
 */
export async function closeWindows(rt: ServiceRuntime, windows: FeatureWindows, now: Date): Promise<number> {
  const pipelines = await rt.pool.query<{ pipeline: string; window_end: Date | null }>(
    `select d.pipeline, m.window_end from deployments d left join monitoring_state m on m.pipeline = d.pipeline`,
  );
  let emitted = 0;
  for (const { pipeline, window_end } of pipelines.rows) {
    const start = window_end ?? new Date(0);
    const sample = windows.take(pipeline);
    let sampleCarried = false;
    const featuresRef = sample.length > 0 ? await rt.store.putContentAddressed(`pipelines/${pipeline}/windows`, Buffer.from(sample.map((r) => JSON.stringify(r)).join('\n') + '\n'), '.jsonl') : undefined;
    await withTransaction(rt.pool, async (tx) => {
      const made = await tx.query<WindowRow>(
        `select version, variant, count(*) as predictions, avg(latency_ms) as latency, avg(abs(probability - champion_probability)) as divergence
         from predictions where pipeline = $1 and created_at > $2 and created_at <= $3 group by version, variant`,
        [pipeline, start, now],
      );
      const labeled = await tx.query<LabeledRow>(
        `select version, variant, probability, feedback_label, threshold from predictions
         where pipeline = $1 and feedback_at > $2 and feedback_at <= $3`,
        [pipeline, start, now],
      );
      // Shadow mode: the candidate scored the same rows without answering; its window says how
      // far it is from the champion (divergence) and how it would have done on the feedback.
      const shadowMade = await tx.query<WindowRow>(
        `select shadow_version as version, 'shadow' as variant, count(*) as predictions, avg(shadow_latency_ms) as latency, avg(abs(probability - shadow_probability)) as divergence
         from predictions where pipeline = $1 and shadow_version is not null and created_at > $2 and created_at <= $3 group by shadow_version`,
        [pipeline, start, now],
      );
      const shadowLabeled = await tx.query<LabeledRow>(
        `select shadow_version as version, 'shadow' as variant, shadow_probability as probability, feedback_label, shadow_threshold as threshold from predictions
         where pipeline = $1 and shadow_version is not null and feedback_at > $2 and feedback_at <= $3`,
        [pipeline, start, now],
      );
      const failed = await tx.query<ErrorRow>(
        `select version, variant, sum(rows) as errors from prediction_errors
         where pipeline = $1 and created_at > $2 and created_at <= $3 group by version, variant`,
        [pipeline, start, now],
      );
      made.rows.push(...shadowMade.rows);
      labeled.rows.push(...shadowLabeled.rows);
      const keyOf = (r: { version: string; variant: string }) => `${r.version}\u0000${r.variant}`;
      const keys = new Set([...made.rows.map(keyOf), ...labeled.rows.map(keyOf), ...failed.rows.map(keyOf)]);
      for (const key of keys) {
        const [version, variant] = key.split('\u0000');
        const m = made.rows.find((r) => r.version === version && r.variant === variant);
        const rows = labeled.rows.filter((r) => r.version === version && r.variant === variant);
        const metrics: Record<string, number> = {};
        if (rows.length > 0) {
          // Decisions at the version's own threshold; the confusion counts let the trigger service
          // compute the spec's business metrics of counts (the deployer holds no spec).
          // The threshold its answers were decided at, logged with each (one per version; 0.5 for rows logged before).
          const threshold = storedThreshold(rows[0].threshold);
          const b = binaryMetrics(Float64Array.from(rows, (r) => r.feedback_label), Float64Array.from(rows, (r) => r.probability), { threshold });
          Object.assign(metrics, { accuracy: b.accuracy, logLoss: b.logLoss, brier: b.brier, threshold, ...b.confusion });
          if (b.rocAuc !== null) metrics.auc = b.rocAuc;
        }
        if (m?.divergence !== undefined && m.divergence !== null) metrics.divergence = m.divergence;
        const errors = Number(failed.rows.find((r) => r.version === version && r.variant === variant)?.errors ?? 0);
        metrics.errors = errors;
        metrics.errorRate = errors / Math.max(1, errors + Number(m?.predictions ?? 0));
        await rt.publish(tx, EVENTS.monitoringWindow, {
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
        });
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

/** Closes monitoring windows every `windowMs`. */
export function startMonitoring(
  rt: ServiceRuntime,
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

import { randomUUID } from 'node:crypto';
import type { DeployerService } from '@refit/contracts';
import type { RawRow } from '@refit/modeling';
import { InvalidInputError, NotFoundError, type PgPool, type ServiceHandlers } from '@refit/platform';
import type { FeatureWindows } from './feature-window.js';
import { joinFeedback, type PredictionLog } from './prediction-log.js';
import type { ServingTable } from './serving.js';

/** Most rows one Predict call may carry. */
export const MAX_ROWS_PER_CALL = 10_000;

/** gRPC handlers of the deployer service. */
export function createDeployerHandlers(table: ServingTable, log: PredictionLog, pool: PgPool, windows: FeatureWindows): ServiceHandlers<typeof DeployerService> {
  return {
    async predict(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      if (req.rows.length === 0) throw new InvalidInputError('rows is empty: send at least one row of raw features');
      if (req.rows.length > MAX_ROWS_PER_CALL) throw new InvalidInputError(`${req.rows.length} rows in one call; at most ${MAX_ROWS_PER_CALL}`);
      const started = performance.now();
      const { version, probabilities } = table.predict(req.pipeline, req.rows as RawRow[]);
      const at = new Date();
      const latencyMs = (performance.now() - started) / probabilities.length;
      const predictions = Array.from(probabilities, (p) => ({ predictionId: randomUUID(), probability: p, label: p >= 0.5 ? 1 : 0 }));
      windows.add(req.pipeline, req.rows as RawRow[]);
      log.add(predictions.map((p) => ({ id: p.predictionId, pipeline: req.pipeline, version, variant: 'champion', probability: p.probability, latencyMs, at })));
      return { modelVersion: version, predictions };
    },
    async sendFeedback(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      if (req.feedback.length === 0) throw new InvalidInputError('feedback is empty');
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
      req.feedback.forEach((f, i) => {
        if (!uuid.test(f.predictionId)) throw new InvalidInputError(`feedback[${i}].prediction_id '${f.predictionId}' is not a prediction id`);
        if (f.label !== 0 && f.label !== 1) throw new InvalidInputError(`feedback[${i}].label must be 0 or 1, got ${f.label}`);
      });
      // A prediction made a moment ago may still be in the log's buffer.
      await log.flush();
      const r = await joinFeedback(pool, req.pipeline, req.feedback, new Date());
      return { joined: BigInt(r.joined), unknown: r.unknown };
    },
    async getDeployment(req) {
      const d = table.current(req.pipeline);
      if (!d) throw new NotFoundError(`no model is serving for pipeline '${req.pipeline}'`);
      return { deployment: { pipeline: d.pipeline, modelVersion: d.version, runId: d.runId, loadedAtMs: BigInt(d.loadedAt) } };
    },
  };
}

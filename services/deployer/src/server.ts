import { randomUUID } from 'node:crypto';
import type { DeployerService } from '@refit/contracts';
import type { RawRow } from '@refit/modeling';
import { InvalidInputError, NotFoundError, type ServiceHandlers } from '@refit/platform';
import type { ServingTable } from './serving.js';

/** Most rows one Predict call may carry. */
export const MAX_ROWS_PER_CALL = 10_000;

/** gRPC handlers of the deployer service. */
export function createDeployerHandlers(table: ServingTable): ServiceHandlers<typeof DeployerService> {
  return {
    async predict(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      if (req.rows.length === 0) throw new InvalidInputError('rows is empty: send at least one row of raw features');
      if (req.rows.length > MAX_ROWS_PER_CALL) throw new InvalidInputError(`${req.rows.length} rows in one call; at most ${MAX_ROWS_PER_CALL}`);
      const { version, probabilities } = table.predict(req.pipeline, req.rows as RawRow[]);
      return {
        modelVersion: version,
        predictions: Array.from(probabilities, (p) => ({ predictionId: randomUUID(), probability: p, label: p >= 0.5 ? 1 : 0 })),
      };
    },
    async getDeployment(req) {
      const d = table.current(req.pipeline);
      if (!d) throw new NotFoundError(`no model is serving for pipeline '${req.pipeline}'`);
      return { deployment: { pipeline: d.pipeline, modelVersion: d.version, runId: d.runId, loadedAtMs: BigInt(d.loadedAt) } };
    },
  };
}

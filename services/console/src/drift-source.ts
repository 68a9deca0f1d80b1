/** Drift reports for the drift page, through FeatureService.ListDrift (histograms included). */
import type { CallOptions } from '@refit/platform';
import { driftViewFromReport, type DriftView } from '@refit/views';
import type { Api } from './api.js';

/** Reports shown at most. */
export const DRIFT_LIMIT = 10;

/** The drift reports of a pipeline, newest first (`source`: training, live, or '' for both). */
export async function listDrift(api: Api, o: CallOptions, req: { pipeline: string; limit: number; source: string }): Promise<DriftView[]> {
  return (await api.feature.listDrift(req, o)).reports.map(driftViewFromReport);
}

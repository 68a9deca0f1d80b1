// The rollout analysis off the serving thread: a paired bootstrap over thousands of shadow rows
// takes 100 ms and more, which on the event loop would stall every Predict behind it.
import { parentPort } from 'node:worker_threads';
import { analyseStep, type AnalysisSpec, type Labeled } from './rollout-analysis.js';

/** One request to the worker. */
export type AnalysisRequest = { id: number; spec: AnalysisSpec; candidate: Labeled; champion: Labeled; paired: boolean };

parentPort?.on('message', (req: AnalysisRequest) => {
  try {
    parentPort?.postMessage({ id: req.id, analysis: analyseStep(req.spec, req.candidate, req.champion, req.paired) });
  } catch (err) {
    parentPort?.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) });
  }
});

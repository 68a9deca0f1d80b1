// Starts the rollout analysis worker from source (dev, tests, `npm run stack`): a worker thread
// does not inherit tsx's loader, so this loads analysis-worker.ts through tsx's API. Built
// services start dist/analysis-worker.js directly.
import { tsImport } from 'tsx/esm/api';

await tsImport('./analysis-worker.ts', import.meta.url);

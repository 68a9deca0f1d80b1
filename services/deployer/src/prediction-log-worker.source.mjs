// Starts the prediction log's writer thread from source (dev, tests, `npm run stack`): a worker
// thread does not inherit tsx's loader, so this loads prediction-log-worker.ts through tsx's API.
// Built services start dist/prediction-log-worker.js directly.
import { tsImport } from 'tsx/esm/api';

await tsImport('./prediction-log-worker.ts', import.meta.url);

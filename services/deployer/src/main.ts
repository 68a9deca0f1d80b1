import { fileURLToPath } from 'node:url';
import { runServiceMain } from '@refit/platform';
import { loadConfig } from './config.js';
import { startDeployerService } from './service.js';

runServiceMain({
  loadConfig,
  migrationsDir: fileURLToPath(new URL('./migrations', import.meta.url)),
  start: startDeployerService,
  // Predictions are answered from the models in memory: an object store outage must not take it out of service.
  readinessNeedsStore: false,
});

import { fileURLToPath } from 'node:url';
import { runServiceMain } from '@refit/platform';
import { loadConfig } from './config.js';
import { startIngestionService } from './service.js';

runServiceMain({
  loadConfig,
  migrationsDir: fileURLToPath(new URL('./migrations', import.meta.url)),
  start: startIngestionService,
});

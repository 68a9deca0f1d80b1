import { createLogger, installShutdown } from '@refit/platform';
import { loadConsoleConfig } from './config.js';
import { startConsole } from './index.js';

async function main(): Promise<void> {
  const config = loadConsoleConfig();
  const logger = createLogger({ service: 'console', level: config.logLevel });
  const running = await startConsole({ config, logger });
  installShutdown({ logger, graceMs: 10_000, steps: [{ name: 'stop serving and close the gRPC channels', run: () => running.close() }] });
}

main().catch((err: unknown) => {
  console.error('refit console failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});

import type { BaseConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { runMigrationsOnly } from './migrate-mode.js';
import { installOutageGuard } from './outage-guard.js';
import { RUNTIME_CLOSE_OVERHEAD_MS, startRuntime, type ServiceRuntime } from './runtime.js';
import { installShutdown } from './shutdown.js';

/** Options of {@link runServiceMain}. */
export type ServiceMainOptions<C extends BaseConfig> = {
  /** Loads and validates the service's config (its `config.ts`). */
  loadConfig: () => Readonly<C>;
  /** Folder of the service's migrations. */
  migrationsDir: string;
  /** Registers the service's consumers and gRPC handlers on the runtime. */
  start: (rt: ServiceRuntime, config: Readonly<C>) => Promise<void>;
  /** See RuntimeOptions.readinessNeedsStore (default true). */
  readinessNeedsStore?: boolean;
};

/**
 * The body of every service's `main.ts`: load config → wire dependencies → start → install
 * shutdown. Exits 1 with a logged reason when start-up fails. A connection that dies with nobody
 * listening is logged, not fatal (see {@link installOutageGuard}). With `REFIT_MIGRATE=only` it
 * applies the service's migrations and exits 0 instead, without opening gRPC, NATS or the object
 * store (see migrate-mode.ts).
 */
export function runServiceMain<C extends BaseConfig>(opts: ServiceMainOptions<C>): void {
  let logger: Logger | undefined;
  const main = async (): Promise<void> => {
    const config = opts.loadConfig();
    logger = createLogger({ service: config.service, level: config.logLevel });
    installOutageGuard({ logger });
    if (config.migrate === 'only') {
      // A Job: migrate, then return with nothing left open, so the process exits 0.
      await runMigrationsOnly({ config, logger, migrationsDir: opts.migrationsDir });
      return;
    }
    const rt = await startRuntime({ config, logger, migrationsDir: opts.migrationsDir, readinessNeedsStore: opts.readinessNeedsStore });
    await opts.start(rt, config);
    // One step: the gRPC grace plus what close() needs after it, so the relay's last publish is not cut off.
    installShutdown({ logger, graceMs: config.shutdownGraceMs + RUNTIME_CLOSE_OVERHEAD_MS, steps: [{ name: 'runtime', run: () => rt.close() }] });
    logger.info({ port: rt.server?.port }, `${config.service} started`);
  };
  main().catch((err: unknown) => {
    if (logger) logger.fatal({ err }, 'start-up failed');
    else console.error('start-up failed:', err);
    process.exit(1);
  });
}

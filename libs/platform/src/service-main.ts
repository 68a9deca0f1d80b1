import type { BaseConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { startRuntime, type ServiceRuntime } from './runtime.js';
import { installShutdown } from './shutdown.js';

/** Options of {@link runServiceMain}. */
export type ServiceMainOptions<C extends BaseConfig> = {
  /** Loads and validates the service's config (its `config.ts`). */
  loadConfig: () => Readonly<C>;
  /** Folder of the service's migrations. */
  migrationsDir: string;
  /** Registers the service's consumers and gRPC handlers on the runtime. */
  start: (rt: ServiceRuntime, config: Readonly<C>) => Promise<void>;
};

/**
 * The body of every service's `main.ts`: load config → wire dependencies → start → install
 * shutdown. Exits 1 with a logged reason when start-up fails.
 */
export function runServiceMain<C extends BaseConfig>(opts: ServiceMainOptions<C>): void {
  let logger: Logger | undefined;
  const main = async (): Promise<void> => {
    const config = opts.loadConfig();
    logger = createLogger({ service: config.service, level: config.logLevel });
    const rt = await startRuntime({ config, logger, migrationsDir: opts.migrationsDir });
    await opts.start(rt, config);
    installShutdown({ logger, graceMs: config.shutdownGraceMs, steps: [{ name: 'runtime', run: () => rt.close() }] });
    logger.info({ port: rt.server?.port }, `${config.service} started`);
  };
  main().catch((err: unknown) => {
    if (logger) logger.fatal({ err }, 'start-up failed');
    else console.error('start-up failed:', err);
    process.exit(1);
  });
}

/** Refit's web console: start it in-process (tests, benchmarks) or through main.ts. */
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '@refit/platform';
import { createApi } from './api.js';
import { loadConsoleConfig, type ConsoleConfig } from './config.js';
import { createConsoleServer } from './server.js';

export { loadConsoleConfig, type ConsoleConfig } from './config.js';

/** Options of {@link startConsole}. */
export type StartConsoleOptions = {
  /** Environment to read the configuration from (as `refit` reads it). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Settings that replace the environment's (e.g. `{ port: 0 }` for a free port in tests). */
  config?: Partial<ConsoleConfig>;
  /** Default: a pino logger named `console` at the configured level. */
  logger?: Logger;
};

/** A running console. */
export type RunningConsole = {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Stops taking requests, ends open connections and closes the gRPC channels. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Starts the console's HTTP server and its gRPC clients. */
export async function startConsole(options: StartConsoleOptions = {}): Promise<RunningConsole> {
  const config: Readonly<ConsoleConfig> = { ...loadConsoleConfig(options.env), ...options.config };
  const logger = options.logger ?? createLogger({ service: 'console', level: config.logLevel });
  const api = createApi(config);
  const server = createConsoleServer({ api, config, logger });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  logger.info({ port, host: config.host, tls: config.caPath ?? false }, 'console listening');
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Live pages keep connections open between polls; end them rather than wait for their timeout.
      server.closeAllConnections();
    }).finally(() => api.close()));
  return { url: `http://${host}:${port}`, port, close, [Symbol.asyncDispose]: close };
}

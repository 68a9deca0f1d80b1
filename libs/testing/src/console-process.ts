/**
 * The web console (services/console) as its own process, as `npm run console` runs it, against a
 * stack's environment (REFIT_<SERVICE>_ADDR, REFIT_TLS_CA), on a free port.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './nats-server.js';
import { waitFor } from './wait-for.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A console process. */
export type ConsoleProcess = {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** SIGTERM, then waits for the exit. */
  stop: () => Promise<void>;
  [Symbol.asyncDispose]: () => Promise<void>;
};

/** Starts the console with `env` (plus a free REFIT_CONSOLE_PORT) and waits until `/healthz` answers. */
export async function startConsoleProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ConsoleProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', join(REPO_ROOT, 'services/console/src/main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, REFIT_LOG_LEVEL: 'warn', ...env, REFIT_CONSOLE_PORT: String(port), REFIT_CONSOLE_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the console exited with ${child.exitCode}: ${log}`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      { timeoutMs, intervalMs: 100, what: 'the console to answer /healthz' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop, [Symbol.asyncDispose]: stop };
}

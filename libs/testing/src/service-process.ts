import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHealth } from '@refit/platform';
import { freePort } from './nats-server.js';
import { waitFor } from './wait-for.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A service running as its own process for a test. */
export type ServiceProcess = { address: string; stop: () => Promise<void>; [Symbol.asyncDispose]: () => Promise<void> };

/**
 * Runs one service (its `main.ts`, as in production) as a separate process against a test env's
 * `REFIT_*` settings, on a free port, and waits until its health check says SERVING. Services
 * never import each other, so a test that needs another service talks to it over gRPC and NATS.
 */
export async function startServiceProcess(service: string, env: Record<string, string>, extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', join(REPO_ROOT, `services/${service}/src/main.ts`)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, ...extra, [`REFIT_${service.toUpperCase()}_GRPC_PORT`]: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const address = `127.0.0.1:${port}`;
  const tlsDir = extra.REFIT_TLS_DIR ?? env.REFIT_TLS_DIR;
  const caFile = tlsDir ? join(tlsDir, 'ca.crt') : undefined;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode}: ${log}`);
        return (await checkHealth(address, '', 1000, caFile)) === 'SERVING';
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `the ${service} service to serve` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, stop, [Symbol.asyncDispose]: stop };
}

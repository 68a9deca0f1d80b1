/**
 * A private nats-server process (JetStream on), for tests that need to take NATS down and bring
 * it back — the shared server on :4222 must never be stopped by a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Port (default: a free one). Reuse a stopped server's port and storeDir to "restart" it. */
  port?: number;
  /** JetStream store directory (default a fresh temp dir, removed on stop). */
  storeDir?: string;
  /** Binary (default `REFIT_NATS_SERVER_BIN` or `nats-server` on PATH). */
  binary?: string;
  /** A configuration file's text (users and permissions, e.g. from `natsServerConfig`); the port and store flags still apply. */
  config?: string;
}

/** A running private nats-server. */
export interface NatsServer {
  /** e.g. `nats://127.0.0.1:41234`. */
  url: string;
  /** Client port. */
  port: number;
  /** JetStream store directory. */
  storeDir: string;
  /** Stops the process (and removes the store dir it created). */
  stop(): Promise<void>;
  /** Same as {@link NatsServer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Starts nats-server with JetStream and resolves once it accepts clients. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const port = opts.port ?? (await freePort());
  const ownDir = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'refit-nats-')));
  const binary = opts.binary ?? process.env.REFIT_NATS_SERVER_BIN ?? 'nats-server';
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];
  if (opts.config !== undefined) {
    const file = join(storeDir, 'nats-server.conf');
    await writeFile(file, opts.config, { mode: 0o600 });
    args.unshift('-c', file);
  }
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log}`));
    });
  });
  // Keep draining stderr so the pipe never fills up and blocks the server.
  child.stderr?.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (ownDir) await rm(storeDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  return { url: `nats://127.0.0.1:${port}`, port, storeDir, stop, [Symbol.asyncDispose]: stop };
}

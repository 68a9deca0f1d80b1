/**
 * A private nats-server process (JetStream on), for tests that need to take NATS down and bring
 * it back — the shared server on :4222 must never be stopped by a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  const [low, high] = ephemeralRange();
  // Outside the kernel's ephemeral range: a port the OS hands out for listen(0) is one it also
  // hands out as the local port of outgoing connections, so between this probe and the service's
  // bind another process's connection could take it (seen in CI: a trainer restarting forever on
  // EADDRINUSE). Outside the range only another listener can, and the probe checks for one.
  const [from, to] = low - 1 >= 20_000 + 1_000 ? [20_000, low - 1] : [high + 1, 65_535];
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    // Reserved before the probe, so concurrent calls never return the same port.
    handedOut.add(port);
    if (await canListen(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free port found between ${from} and ${to} in 200 tries`);
}

/** Ports this process already gave out (two stacks in one process must not get the same one). */
const handedOut = new Set<number>();

/** The kernel's ephemeral port range (Linux), or the IANA default elsewhere. */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux
  }
  return [49_152, 65_535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
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

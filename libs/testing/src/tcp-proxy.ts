/**
 * A TCP proxy a test can cut and restore, to give one client the view of a server that restarts
 * (connections reset, new ones refused) while the real server — the machine's shared Postgres —
 * keeps running for everyone else.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './nats-server.js';

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Host to forward to (default `127.0.0.1`). */
  targetHost?: string;
  /** Port to forward to, e.g. 5432. */
  targetPort: number;
  /** Port to listen on (default: a free one); kept across {@link TcpProxy.down}/{@link TcpProxy.up}. */
  port?: number;
}

/** A running proxy on 127.0.0.1. */
export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** True while it accepts and forwards connections. */
  readonly isUp: boolean;
  /** Resets every open connection and stops listening (new connections are refused). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** `down()` for good. */
  stop(): Promise<void>;
  /** Same as {@link TcpProxy.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a proxy forwarding 127.0.0.1:`port` to the target. */
export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const port = opts.port ?? (await freePort());
  const targetHost = opts.targetHost ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // A reset on one side is the expected outcome of down(): never an unhandled 'error'.
    s.on('error', () => s.destroy());
  };

  const up = async (): Promise<void> => {
    if (server) return;
    const srv = createServer((client) => {
      const upstream = connect(opts.targetPort, targetHost);
      track(client);
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        srv.off('error', reject);
        resolve();
      });
    });
    server = srv;
  };

  const down = async (): Promise<void> => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };

  await up();
  return {
    port,
    get isUp() {
      return server !== undefined;
    },
    down,
    up,
    stop: down,
    [Symbol.asyncDispose]: down,
  };
}

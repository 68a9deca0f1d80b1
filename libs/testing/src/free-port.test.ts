import { createConnection, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralRange, freePort } from './nats-server.js';

describe('freePort', () => {
  it('hands out distinct ports outside the ephemeral range, which outgoing connections never take', async () => {
    const [low, high] = ephemeralRange();
    const ports = await Promise.all(Array.from({ length: 100 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) expect(p < low || p > high).toBe(true);
    // An outgoing connection's local port is in the ephemeral range, so it cannot collide.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(ports[0], '127.0.0.1', r));
    const socket = createConnection(ports[0], '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', r));
    const local = socket.localPort ?? 0;
    expect(local >= low && local <= high).toBe(true);
    socket.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('skips a port another listener holds', async () => {
    const held = await freePort();
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(held, '127.0.0.1', r));
    const others = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(others).not.toContain(held);
    await new Promise<void>((r) => srv.close(() => r()));
  });
});

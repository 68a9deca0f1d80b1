import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.js';
import { installShutdown } from './shutdown.js';

const quiet = () => createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) });

describe('installShutdown', () => {
  it('runs steps in order once, then exits 0', async () => {
    const order: string[] = [];
    const exit = vi.fn();
    const h = installShutdown({
      logger: quiet(),
      graceMs: 1000,
      signals: ['SIGUSR2'],
      exit,
      steps: [
        { name: 'a', run: async () => void order.push('a') },
        { name: 'b', run: async () => void order.push('b') },
      ],
    });
    await Promise.all([h.shutdown('test'), h.shutdown('again')]);
    await h.shutdown('third');
    expect(order).toEqual(['a', 'b']);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('bounds each step by the grace period and exits 1 after a failure', async () => {
    const exit = vi.fn();
    const ran: string[] = [];
    const h = installShutdown({
      logger: quiet(),
      graceMs: 50,
      signals: ['SIGUSR2'],
      exit,
      steps: [
        { name: 'stuck', run: () => new Promise<void>(() => undefined) },
        { name: 'throws', run: async () => Promise.reject(new Error('x')) },
        { name: 'last', run: async () => void ran.push('last') },
      ],
    });
    const t0 = Date.now();
    await h.shutdown('test');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(ran).toEqual(['last']);
    expect(exit).toHaveBeenCalledWith(1);
  });

  it('runs on the signal', async () => {
    const exit = vi.fn();
    const run = vi.fn(async () => undefined);
    const h = installShutdown({ logger: quiet(), graceMs: 1000, signals: ['SIGUSR2'], exit, steps: [{ name: 's', run }] });
    process.kill(process.pid, 'SIGUSR2');
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
    expect(run).toHaveBeenCalledTimes(1);
    expect(process.listenerCount('SIGUSR2')).toBe(0);
    h.uninstall();
  });
});

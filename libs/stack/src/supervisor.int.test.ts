import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@refit/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { supervise, type ExitRecord, type Supervised } from './supervisor.js';

// A process that logs a line and then lives until killed, or exits with `code` after `ms`.
const program = (code?: number, ms = 50) => `console.log('working ' + process.pid); ${code === undefined ? 'setInterval(() => {}, 1000)' : `setTimeout(() => process.exit(${code}), ${ms})`}`;

describe('supervise', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refit-supervisor-'));
  let sup: Supervised | undefined;
  afterEach(async () => {
    await sup?.stop(1000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function start(code?: number, said: string[] = [], exits: ExitRecord[] = []) {
    const logFile = join(dir, `p-${Math.random()}.log`);
    sup = supervise({
      name: 'worker',
      logFile,
      backoff: { firstMs: 20, maxMs: 80, healthyMs: 60_000 },
      say: (l) => said.push(l),
      onExit: (e) => exits.push(e),
      spawn: () => {
        const fd = openSync(logFile, 'a');
        try {
          return spawn(process.execPath, ['-e', program(code)], { stdio: ['ignore', fd, fd] });
        } finally {
          closeSync(fd);
        }
      },
    });
    return { sup, logFile, said, exits };
  }

  it('restarts a process killed from outside and says why, with the last lines of its log', async () => {
    const { sup, logFile, said, exits } = start();
    const first = sup.child?.pid as number;
    await waitFor(() => readFileSync(logFile, 'utf8').includes(`working ${first}`), { what: 'the first line' });
    process.kill(first, 'SIGKILL');
    const second = await waitFor(() => sup.child?.pid !== undefined && sup.child.pid !== first && sup.child.pid, { what: 'a new process' });
    expect(second).not.toBe(first);
    expect(sup.restarts).toBe(1);
    expect(exits).toMatchObject([{ process: 'worker', pid: first, signal: 'SIGKILL', requested: false, restartInMs: 20, lastLines: [`working ${first}`] }]);
    expect(said[0]).toMatch(new RegExp(`^refit stack: worker \\(pid ${first}\\) was killed by SIGKILL after \\d+\\.\\d s without being asked; restarting in 0\\.0 s`));
    expect(said[0]).toContain(`    working ${first}`);
    // The note is in the process' own log too, as a JSON line.
    const note = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"service":"stack"'));
    expect(JSON.parse(note ?? '{}')).toMatchObject({ process: 'worker', exit: { code: null, signal: 'SIGKILL' }, restartInMs: 20 });
  });

  it('backs off exponentially while a process keeps failing, up to the cap', async () => {
    const { exits } = start(3);
    await waitFor(() => exits.length >= 5, { timeoutMs: 15_000, what: 'five exits' });
    expect(exits.slice(0, 5).map((e) => [e.code, e.restartInMs])).toEqual([
      [3, 20],
      [3, 40],
      [3, 80],
      [3, 80],
      [3, 80],
    ]);
  });

  it('keeps a process down when asked, until start()', async () => {
    const { sup, exits, said } = start();
    await sup.kill('SIGKILL', { restart: false });
    expect(sup.running()).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(sup.running()).toBe(false);
    expect(exits).toMatchObject([{ requested: true, restartInMs: null }]);
    expect(said).toEqual([]);
    sup.start();
    expect(sup.running()).toBe(true);
    expect(sup.restarts).toBe(0);
  });

  it('a kill with restart: true is a crash like any other', async () => {
    const { sup, exits } = start();
    await sup.kill('SIGTERM', { restart: true });
    await waitFor(() => sup.running(), { what: 'the restart' });
    expect(exits).toMatchObject([{ signal: 'SIGTERM', requested: false, restartInMs: 20 }]);
  });

  it('does not restart what the stack stops', async () => {
    const { sup, exits } = start();
    await sup.stop(1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(sup.running()).toBe(false);
    expect(exits).toMatchObject([{ requested: true, restartInMs: null }]);
  });
});

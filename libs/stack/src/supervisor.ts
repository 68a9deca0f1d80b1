import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { DEFAULT_BACKOFF, exitWords, restartDelayMs, type BackoffPolicy } from './backoff.js';
import { tailFile } from './log-tail.js';

/** One exit of a supervised process, as the supervisor saw it. */
export type ExitRecord = {
  /** The process' name in the stack, e.g. `trainer` or `trainer-2`. */
  process: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When it exited. */
  at: Date;
  /** How long it had run. */
  upMs: number;
  /** False when it exited without being asked (a crash, a kill from outside). */
  requested: boolean;
  /** The delay before it is started again, ms; null when it stays down. */
  restartInMs: number | null;
  /** The last lines of its log. */
  lastLines: string[];
};

/** Options of {@link supervise}. */
export type SupervisorOptions = {
  /** Name used in messages, e.g. `trainer-2`. */
  name: string;
  /** Starts the process (its output goes to `logFile`). */
  spawn: () => ChildProcess;
  /** The process' log; the supervisor appends its own notes about it there too. */
  logFile: string;
  /** Restart a process that exits without being asked. Default true. */
  restart?: boolean;
  /** Restart delays. Default {@link DEFAULT_BACKOFF}. */
  backoff?: BackoffPolicy;
  /** Where the supervisor says what happened (the stack's own output). */
  say: (line: string) => void;
  /** Called at each exit, after the decision to restart or not. */
  onExit?: (r: ExitRecord) => void;
  /** Called after each start (the first one included), e.g. to watch its health. */
  onStart?: (child: ChildProcess) => void;
};

/** A process kept running by {@link supervise}. */
export type Supervised = {
  /** The process running now, if any. */
  readonly child: ChildProcess | undefined;
  /** Starts after exits the supervisor decided on its own. */
  readonly restarts: number;
  /** True while a process runs. */
  running(): boolean;
  /** Tells the supervisor that `child` serves; it counts as healthy from now on. */
  markHealthy(child: ChildProcess): void;
  /**
   * Sends `signal` and waits until the process has exited. With `restart: false` it stays down
   * until {@link Supervised.start}; with `restart: true` it is treated as any unasked exit.
   */
  kill(signal: NodeJS.Signals, opts: { restart: boolean }): Promise<void>;
  /** Starts the process now if it does not run (cancelling a pending restart); it is supervised again. */
  start(): void;
  /** Stops it for good: SIGTERM, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
};

const running = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;

/** Resolves when `child` has exited. */
export function exited(child: ChildProcess): Promise<void> {
  return running(child) ? new Promise((r) => child.once('exit', () => r())) : Promise.resolve();
}

/**
 * Runs a process and starts it again when it exits without being asked (crash, kill -9, a SIGTERM
 * from outside), after a capped exponential backoff; says why (exit code or signal, the last lines
 * of its log) on the stack's output and in its log.
 */
export function supervise(opts: SupervisorOptions): Supervised {
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  let child: ChildProcess | undefined;
  let startedAt = 0;
  let healthySince: number | undefined;
  let failures = 0;
  let restarts = 0;
  let keepDown = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;

  const note = (line: string, fields: Record<string, unknown>): void => {
    opts.say(line);
    try {
      appendFileSync(opts.logFile, `${JSON.stringify({ level: 40, time: Date.now(), service: 'stack', process: opts.name, msg: line.split('\n')[0], ...fields })}\n`);
    } catch {
      // The log is a courtesy; the stack's own output already has the line.
    }
  };

  const onExit = (c: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    if (c !== child) return;
    const now = Date.now();
    const requested = stopping || keepDown;
    const wanted = !requested && opts.restart !== false;
    if (healthySince !== undefined && now - healthySince >= backoff.healthyMs) failures = 0;
    if (wanted) failures++;
    const r: ExitRecord = {
      process: opts.name,
      pid: c.pid,
      code,
      signal,
      at: new Date(now),
      upMs: now - startedAt,
      requested,
      restartInMs: wanted ? restartDelayMs(backoff, failures) : null,
      lastLines: requested ? [] : tailFile(opts.logFile),
    };
    if (!requested) {
      const then = r.restartInMs === null ? 'it stays down (supervision is off)' : `restarting in ${(r.restartInMs / 1000).toFixed(1)} s (restart ${restarts + 1}, ${failures} in a row)`;
      const tail = r.lastLines.length ? `; the last lines of its log:\n${r.lastLines.map((l) => `    ${l}`).join('\n')}` : '';
      note(`refit stack: ${opts.name} (pid ${c.pid}) ${exitWords(code, signal)} after ${(r.upMs / 1000).toFixed(1)} s without being asked; ${then}${tail}`, { exit: { code, signal }, restartInMs: r.restartInMs, lastLines: r.lastLines });
    }
    opts.onExit?.(r);
    if (r.restartInMs !== null) {
      timer = setTimeout(() => {
        timer = undefined;
        if (stopping || keepDown || running(child)) return;
        restarts++;
        spawnNow();
      }, r.restartInMs);
    }
  };

  const spawnNow = (): void => {
    const c = opts.spawn();
    child = c;
    startedAt = Date.now();
    healthySince = undefined;
    c.once('exit', (code, signal) => onExit(c, code, signal));
    opts.onStart?.(c);
  };

  const cancelRestart = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };

  spawnNow();
  return {
    get child() {
      return running(child) ? child : undefined;
    },
    get restarts() {
      return restarts;
    },
    running: () => running(child),
    markHealthy(c) {
      if (c === child && running(c)) healthySince ??= Date.now();
    },
    async kill(signal, { restart }) {
      if (!restart) {
        keepDown = true;
        cancelRestart();
      }
      const c = child;
      if (!running(c)) return;
      c.kill(signal);
      await exited(c);
    },
    start() {
      keepDown = false;
      cancelRestart();
      if (running(child) || stopping) return;
      failures = 0;
      spawnNow();
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      cancelRestart();
      const c = child;
      if (!running(c)) return;
      c.kill('SIGTERM');
      const force = setTimeout(() => c.kill('SIGKILL'), graceMs);
      await exited(c);
      clearTimeout(force);
    },
  };
}

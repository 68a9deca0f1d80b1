/**
 * Starts and stops the stream sources of the applied pipelines: each replica looks at the stored
 * specs (every `scanMs`, and at once when a pipeline is applied) and runs, under a lease per
 * pipeline, the source of each spec with `data.source.stream` — so exactly one replica reads a
 * pipeline's stream at a time, and another takes over when it stops.
 */
import type { Lease, Logger, PgPool, RunLeasedOptions } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type { AppliedStream } from './stream-source.js';

/** What the supervisor needs. */
export type StreamSupervisorDeps = {
  pool: PgPool;
  logger: Logger;
  runLeased: (opts: RunLeasedOptions) => Lease;
  scanMs: number;
  leaseTtlMs: number;
  /** Reads one pipeline's stream until the signal aborts. */
  run: (applied: AppliedStream, signal: AbortSignal) => Promise<void>;
};

/** The running supervisor. */
export type StreamSupervisor = {
  /** Looks at the specs now (a pipeline was applied). */
  kick(): void;
  /** Stops every source (their leases released) and the scans. */
  stop(): Promise<void>;
};

/** Starts the supervisor; its loop catches and logs its own errors. */
export function startStreamSources(deps: StreamSupervisorDeps): StreamSupervisor {
  const running = new Map<string, { version: number; lease: Lease }>();
  const unreadable = new Set<string>();
  let stopped = false;
  let wake: () => void = () => undefined;

  const scan = async (): Promise<void> => {
    const { rows } = await deps.pool.query<{ name: string; version: number; spec_json: string }>('select name, version, spec_json from pipelines');
    const keep = new Set<string>();
    const start = new Map<string, AppliedStream>();
    for (const r of rows) {
      const key = `${r.name}@${r.version}`;
      if (running.get(r.name)?.version === r.version) {
        keep.add(r.name);
        continue;
      }
      if (unreadable.has(key)) continue;
      try {
        const spec = specFromJson(r.spec_json);
        if (spec.data.source?.stream) start.set(r.name, { spec, version: r.version });
      } catch (err) {
        unreadable.add(key);
        deps.logger.error({ err, pipeline: r.name, version: r.version }, 'a stored pipeline spec does not validate; its stream source is not started');
      }
    }
    for (const [name, cur] of running) {
      if (keep.has(name)) continue;
      running.delete(name);
      await cur.lease.stop();
      deps.logger.info({ pipeline: name, version: cur.version }, 'stream source stopped');
    }
    for (const [name, applied] of start) {
      if (stopped) break;
      const lease = deps.runLeased({ name: `stream-source:${name}`, ttlMs: deps.leaseTtlMs, run: ({ signal }) => deps.run(applied, signal) });
      running.set(name, { version: applied.version, lease });
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await scan();
      } catch (err) {
        deps.logger.warn({ err }, 'could not look at the applied pipelines for stream sources; will retry');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deps.scanMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  })();

  return {
    kick: () => wake(),
    async stop() {
      stopped = true;
      wake();
      await loop;
      await Promise.all([...running.values()].map((r) => r.lease.stop()));
      running.clear();
    },
  };
}

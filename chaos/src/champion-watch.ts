import { fromBinary } from '@bufbuild/protobuf';
import { connect as connectClients } from '@refit/cli';
import { EVENTS } from '@refit/platform';
import { processName } from '@refit/stack';
import { readEvents } from '@refit/testing';
import type { Harness } from './harness.js';

/** What every deployer process answers, polled: the first time each one served each version. */
export type ChampionWatch = {
  /** `firstSeen.get('v2').get('deployer-2')`: ms since the epoch. */
  readonly firstSeen: Map<string, Map<string, number>>;
  /** The version each deployer process serves now (as last polled). */
  readonly serving: Map<string, string>;
  /** Waits until every deployer process serves `version`; false after `timeoutMs`. */
  waitAll(version: string, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
};

/**
 * Polls GetDeployment on every deployer process (its own address, not the failover list) every
 * `pollMs` (default 20 ms): GetDeployment answers from the process' serving table, so it says
 * what that process would predict with.
 */
export function watchChampions(h: Harness, pipeline: string, pollMs = 20): ChampionWatch {
  const procs = h.stack.replicaAddresses.deployer.map((address, r) => ({ name: processName('deployer', r), client: connectClients({ ...h.stack.env, REFIT_DEPLOYER_ADDR: address }).deployer }));
  const firstSeen = new Map<string, Map<string, number>>();
  const serving = new Map<string, string>();
  let stopped = false;
  const poll = async (p: (typeof procs)[number]): Promise<void> => {
    while (!stopped) {
      try {
        const v = (await p.client.getDeployment({ pipeline }, { timeoutMs: 1000 })).deployment?.modelVersion;
        if (v) {
          serving.set(p.name, v);
          if (!firstSeen.has(v)) firstSeen.set(v, new Map());
          if (!firstSeen.get(v)?.has(p.name)) firstSeen.get(v)?.set(p.name, Date.now());
        }
      } catch {
        // Nothing served yet, or the process is restarting: ask again.
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  const loops = procs.map((p) => poll(p));
  return {
    firstSeen,
    serving,
    async waitAll(version, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (procs.every((p) => firstSeen.get(version)?.has(p.name))) return true;
        await new Promise((r) => setTimeout(r, pollMs));
      }
      return false;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      for (const p of procs) p.client.close();
    },
  };
}

/** Each champion change of `pipeline` with the time JetStream stored its alias.changed event. */
export async function championChanges(h: Harness, pipeline: string): Promise<Array<{ version: string; at: number }>> {
  const stored = await readEvents(h.nc, { stream: h.ns.stream, subject: `${h.ns.subjectPrefix}.${EVENTS.aliasChanged.name}` });
  const jsm = await h.nc.jetstreamManager();
  const out: Array<{ version: string; at: number }> = [];
  for (const m of stored) {
    const e = fromBinary(EVENTS.aliasChanged.schema, m.data);
    if (e.pipeline !== pipeline || e.alias !== 'champion') continue;
    const { time } = await jsm.streams.getMessage(h.ns.stream, { seq: m.seq });
    out.push({ version: e.version, at: time.getTime() });
  }
  return out;
}

/**
 * For each champion change, how long after its alias.changed each deployer process first served
 * it (null: not within the watch). A process that already served it counts from its first answer.
 */
export function swapLatencies(watch: ChampionWatch, changes: Array<{ version: string; at: number }>, processes: string[]): Record<string, Record<string, number | null>> {
  const out: Record<string, Record<string, number | null>> = {};
  for (const c of changes) {
    out[c.version] = Object.fromEntries(processes.map((p) => {
      const t = watch.firstSeen.get(c.version)?.get(p);
      return [p, t === undefined ? null : Math.max(0, t - c.at)];
    }));
  }
  return out;
}

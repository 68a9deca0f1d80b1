import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { checkHealth } from '@refit/platform';
import type { BackoffPolicy } from './backoff.js';
import { supervise, type ExitRecord, type Supervised } from './supervisor.js';

/** How one process of a service is started: the command, its arguments and its environment. */
export type ServiceCommand = { command: string; args: string[]; env: Record<string, string> };

/**
 * Makes the command that runs one process of a service (default: Node with tsx on its `main.ts`);
 * e.g. `containerLaunch` (container-launch.ts) runs the service's image instead.
 */
export type ServiceLaunch = (p: { service: string; name: string; entry: string; env: Record<string, string> }) => ServiceCommand;

/** The default {@link ServiceLaunch}: the service's TypeScript sources through tsx, in this Node. */
export const tsxLaunch: ServiceLaunch = ({ entry, env }) => ({ command: process.execPath, args: ['--conditions=@refit/source', '--import', 'tsx', entry], env });

/** What {@link superviseService} needs to run one process of a service. */
export type ServiceProcessOptions = {
  /** The service, e.g. `trainer`. */
  service: string;
  /** How to start it. Default {@link tsxLaunch}. */
  launch?: ServiceLaunch;
  /** The process' name, e.g. `trainer-2`: its log is `<logDir>/<name>.log`. */
  name: string;
  /** The service's `main.ts`. */
  entry: string;
  /** Working directory (the repository root, where tsx and the workspace resolve). */
  cwd: string;
  logDir: string;
  /** host:port its gRPC server listens on (and answers health on). */
  address: string;
  /** Its whole environment: the stack's REFIT_* settings, its port, its own credentials. */
  env: Record<string, string>;
  /** The CA its certificate chains to, for the health check. */
  ca?: string;
  backoff: BackoffPolicy;
  /** Restart it when it exits without being asked. */
  restart: boolean;
  say: (line: string) => void;
  onExit: (e: ExitRecord) => void;
};

// Polls until `child` serves, then tells the supervisor (its backoff resets after it served a while).
async function watchHealth(sup: () => Supervised | undefined, child: ChildProcess, address: string, ca: string | undefined): Promise<void> {
  while (child.exitCode === null && child.signalCode === null) {
    if ((await checkHealth(address, '', 1000, ca).catch(() => undefined)) === 'SERVING') {
      sup()?.markHealthy(child);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs one process of a service (`node --import tsx <entry>`, or what `launch` says; output to its log), supervised. */
export function superviseService(o: ServiceProcessOptions): Supervised {
  const logFile = join(o.logDir, `${o.name}.log`);
  const sup: Supervised = supervise({
    name: o.name,
    logFile,
    backoff: o.backoff,
    restart: o.restart,
    say: o.say,
    onExit: o.onExit,
    // The first start happens inside supervise(), before `sup` is set: the watcher reads it only
    // after its first health check has been awaited.
    onStart: (child) => void watchHealth(() => sup, child, o.address, o.ca),
    spawn: () => {
      const log = openSync(logFile, 'a');
      try {
        const c = (o.launch ?? tsxLaunch)({ service: o.service, name: o.name, entry: o.entry, env: o.env });
        return spawn(c.command, c.args, { env: c.env, cwd: o.cwd, stdio: ['ignore', log, log] });
      } finally {
        // The child has its own copy of the descriptor.
        closeSync(log);
      }
    },
  });
  return sup;
}

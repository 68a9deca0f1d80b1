import type { ChildProcess } from 'node:child_process';
import { startNatsWithConfig, startS3Process, type InfraControl } from './infra.js';
import { exited } from './supervisor.js';

/** Stops a process: SIGTERM, SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/**
 * The control of a server process that `launch` starts (and waits for); stopping it is a SIGTERM,
 * starting it again launches it anew with the same arguments: same port, same data.
 */
export async function processControl(name: string, url: string, launch: () => Promise<ChildProcess>): Promise<InfraControl> {
  let child: ChildProcess | undefined = await launch();
  const up = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (child) await stopProcess(child, 5000);
    child = undefined;
  };
  const start = async (): Promise<void> => {
    if (up()) return;
    child = await launch();
  };
  return {
    name,
    url,
    get running() {
      return up();
    },
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/** A private nats-server with users and permissions (`config`), restartable on the same port and store. */
export function natsControl(opts: Parameters<typeof startNatsWithConfig>[0]): Promise<InfraControl> {
  return processControl('nats', `nats://127.0.0.1:${opts.port}`, () => startNatsWithConfig(opts));
}

/** The S3 server process on a fixed port and directory, restartable with the same objects. */
export function s3Control(opts: { dir: string; logFile: string; entry: string; port: number }): Promise<InfraControl> {
  return processControl('s3', `http://127.0.0.1:${opts.port}`, async () => (await startS3Process(opts)).child);
}

/**
 * Runs the stack's service processes as containers of their images (deploy/docker/Dockerfile)
 * instead of Node processes: `podman run` (or `docker run`) in the foreground, so the stack's
 * supervision, logs and health checks work unchanged. Containers share the host's network (the
 * stack's Postgres, NATS and S3 listen on 127.0.0.1) and see the stack's credentials folder at the
 * same path, read-only.
 */
import type { ServiceLaunch } from './service-process.js';

/** Label every container of a {@link containerLaunch} carries, with its process name as value. */
export const CONTAINER_PROCESS_LABEL = 'io.refit.stack.process';

/** Options of {@link containerLaunch}. */
export type ContainerLaunchOptions = {
  /** `podman` or `docker`. */
  engine: string;
  /** The image of a service, e.g. `refit-trainer:0.1.0`. */
  image: (service: string) => string;
  /** Host folders mounted read-only at the same path (the stack's credentials folder). */
  mounts: readonly string[];
  /** Environment of the engine's own process (e.g. CONTAINERS_CONF, PATH). */
  engineEnv: Record<string, string>;
  /** Extra REFIT_* settings per process name (e.g. a REFIT_HEALTH_PORT each, on a shared network). */
  extraEnv?: (name: string) => Record<string, string>;
};

/**
 * A {@link ServiceLaunch} that runs each process as a container: non-root (the image's user),
 * read-only root with a tmpfs /tmp, no capabilities, as deploy/compose runs them. Only REFIT_*
 * variables enter the container, by name (`-e NAME`): their values, passwords included, never
 * appear in a process list.
 */
export function containerLaunch(o: ContainerLaunchOptions): ServiceLaunch {
  return ({ service, name, env }) => {
    const refit = Object.fromEntries(Object.entries({ ...env, REFIT_GRPC_HOST: '127.0.0.1', ...o.extraEnv?.(name) }).filter(([k]) => k.startsWith('REFIT_')));
    const args = ['run', '--rm', '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--label', `${CONTAINER_PROCESS_LABEL}=${name}`];
    for (const m of o.mounts) args.push('-v', `${m}:${m}:ro`);
    for (const k of Object.keys(refit)) args.push('-e', k);
    args.push(o.image(service));
    return { command: o.engine, args, env: { ...o.engineEnv, ...refit } };
  };
}

// The compose file itself started with docker-compose against podman (npm run compose:check -- --compose).
export * from './compose-stack.js';

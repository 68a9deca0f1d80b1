import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsServerConfig, UnavailableError, type LocalCredentials } from '@refit/platform';
import { freePort } from '@refit/testing';
import { ensureNats, ensurePostgres, natsServerBinary, startEmbeddedPostgres, type InfraControl } from './infra.js';
import { natsControl, processControl, s3Control } from './infra-control.js';

/** Postgres used when REFIT_PG_URL is not set. */
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/refit';
/** NATS used when REFIT_NATS_URL is not set. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** Port of the stack's own NATS with `defaultPorts` (4222 is the machine's shared server). */
export const STACK_NATS_PORT = 4223;

/**
 * The infrastructure the stack started itself; each can be stopped and started again on the same
 * port with the same data (what a chaos harness does). Absent: the stack uses a server it did not start.
 */
export type StackInfra = {
  postgres?: InfraControl;
  nats?: InfraControl;
  s3?: InfraControl;
};

/** What {@link startStackInfra} needs. */
export type StackInfraOptions = {
  /** The environment so far (REFIT_* settings, merged over process.env); updated with the URLs. */
  base: Record<string, string>;
  /** Settings the caller gave explicitly (not process.env). */
  given: Record<string, string>;
  workDir: string;
  logDir: string;
  credentials: LocalCredentials;
  defaultPorts: boolean;
  startS3: boolean;
  /** Own Postgres, NATS and S3 whatever the environment says. */
  privateInfra: boolean;
  warn: (line: string) => void;
};

const S3_ENTRY = fileURLToPath(new URL('../../testing/src/s3-server-main.ts', import.meta.url));

/**
 * Starts what is missing (or, with `privateInfra`, everything): an embedded Postgres, the stack's
 * own nats-server with a user per service, an S3 server process. Sets REFIT_PG_URL, REFIT_NATS_*
 * and REFIT_S3_URL in `base` and returns the controls of what it started.
 */
export async function startStackInfra(o: StackInfraOptions): Promise<StackInfra> {
  const { base, workDir, logDir, credentials } = o;
  const infra: StackInfra = {};
  try {
    if (o.privateInfra) {
      infra.postgres = await startEmbeddedPostgres({ dataDir: join(workDir, 'postgres'), port: await freePort(), logFile: join(logDir, 'postgres.log') });
    } else {
      infra.postgres = await ensurePostgres(base.REFIT_PG_URL ?? DEFAULT_PG_URL, join(workDir, 'postgres'), join(logDir, 'postgres.log'));
    }
    if (infra.postgres) base.REFIT_PG_URL = infra.postgres.url;

    const natsBin = natsServerBinary();
    if (o.privateInfra && !natsBin) throw new UnavailableError('private infrastructure needs a nats-server binary (apt-get install nats-server)');
    if (natsBin && (o.privateInfra || !o.given.REFIT_NATS_URL)) {
      // The stack's own NATS, with a user per service that may publish only its own events.
      const port = o.defaultPorts ? STACK_NATS_PORT : await freePort();
      const config = natsServerConfig({ subjectPrefix: base.REFIT_SUBJECT_PREFIX ?? 'refit', passwords: credentials.natsPasswords, port });
      const pass = credentials.natsPasswords.admin;
      infra.nats = await natsControl({ bin: natsBin, port, dataDir: join(workDir, 'nats-data'), config, logFile: join(logDir, 'nats.log'), user: 'admin', pass });
      Object.assign(base, { REFIT_NATS_URL: infra.nats.url, REFIT_NATS_USER: 'admin', REFIT_NATS_PASSWORD: pass });
    } else {
      const url = base.REFIT_NATS_URL ?? DEFAULT_NATS_URL;
      let started = await ensureNats(url, join(workDir, 'nats'));
      if (started) {
        infra.nats = await processControl('nats', url, async () => {
          const child = started ?? (await ensureNats(url, join(workDir, 'nats')));
          started = undefined;
          if (!child) throw new UnavailableError(`another server took NATS' place at ${url}`);
          return child;
        });
      }
      o.warn(`refit stack: NATS at ${url} runs without per-service users (no nats-server binary, or REFIT_NATS_URL given); event signatures still guard the loop`);
    }

    if (o.privateInfra || (!base.REFIT_S3_URL && o.startS3)) {
      infra.s3 = await s3Control({ dir: join(workDir, 's3'), logFile: join(logDir, 's3.log'), entry: S3_ENTRY, port: await freePort() });
      base.REFIT_S3_URL = infra.s3.url;
    }
    return infra;
  } catch (e) {
    await stopStackInfra(infra);
    throw e;
  }
}

/** Stops what the stack started, S3 and NATS first, Postgres last. */
export async function stopStackInfra(infra: StackInfra): Promise<void> {
  await Promise.all([infra.s3?.stop(), infra.nats?.stop()]);
  await infra.postgres?.stop();
}

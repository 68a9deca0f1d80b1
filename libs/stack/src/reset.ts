import { dropSchemasWithPrefix } from '@refit/testing';
import { connect } from 'nats';

/**
 * Deletes a namespace's state: every Postgres schema with the prefix and the JetStream stream.
 * Used by the demo so that each run starts from nothing. Object storage is content-addressed
 * and needs no reset.
 */
export async function resetNamespace(opts: { pgUrl: string; schemaPrefix: string; natsUrl: string; stream: string; natsUser?: string; natsPassword?: string }): Promise<void> {
  try {
    await dropSchemasWithPrefix(opts.pgUrl, opts.schemaPrefix);
  } catch (e) {
    // A missing database simply has nothing to reset.
    if ((e as { code?: string }).code !== '3D000') throw e;
  }
  const nc = await connect({ servers: opts.natsUrl, ...(opts.natsUser ? { user: opts.natsUser, pass: opts.natsPassword ?? '' } : {}) });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(opts.stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

import pg from 'pg';
import { connect } from 'nats';

/**
 * Deletes a namespace's state: every Postgres schema with the prefix and the JetStream stream.
 * Used by the demo so that each run starts from nothing. Object storage is content-addressed
 * and needs no reset.
 */
export async function resetNamespace(opts: { pgUrl: string; schemaPrefix: string; natsUrl: string; stream: string }): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.schemaPrefix)) throw new RangeError(`bad schema prefix '${opts.schemaPrefix}'`);
  const client = new pg.Client({ connectionString: opts.pgUrl });
  try {
    await client.connect();
    const r = await client.query<{ nspname: string }>('select nspname from pg_namespace where starts_with(nspname, $1)', [opts.schemaPrefix]);
    for (const { nspname } of r.rows) await client.query(`drop schema "${nspname}" cascade`);
  } catch (e) {
    // A missing database simply has nothing to reset.
    if ((e as { code?: string }).code !== '3D000') throw e;
  } finally {
    await client.end().catch(() => undefined);
  }
  const nc = await connect({ servers: opts.natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(opts.stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

import { rmSync } from 'node:fs';
import { resetNamespace } from './reset.js';
import type { Stack } from './stack.js';
import { DEFAULT_NATS_URL, DEFAULT_PG_URL } from './stack-infra.js';
import { dropSchemasWithPrefix } from '@refit/testing';

/**
 * Stops a stack a test or a bench started in a namespace of its own and leaves nothing behind: servers the stack started took the namespace
 * with them (their data is under `workDir`); shared ones keep it until dropped here.
 */
export async function stopStackAndClean(stack: Stack, env: { REFIT_SCHEMA_PREFIX: string; REFIT_STREAM: string }, workDir: string): Promise<void> {
  await stack.stop();
  const e = stack.env;
  const shared = { pg: !stack.infra.postgres, nats: !stack.infra.nats };
  if (shared.pg && !shared.nats) await dropSchemasWithPrefix(e.REFIT_PG_URL ?? DEFAULT_PG_URL, env.REFIT_SCHEMA_PREFIX);
  if (shared.pg && shared.nats) await resetNamespace({ pgUrl: e.REFIT_PG_URL ?? DEFAULT_PG_URL, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl: e.REFIT_NATS_URL ?? DEFAULT_NATS_URL, stream: env.REFIT_STREAM, natsUser: e.REFIT_NATS_USER, natsPassword: e.REFIT_NATS_PASSWORD });
  rmSync(workDir, { recursive: true, force: true });
}

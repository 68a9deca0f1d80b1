/**
 * Security material for a test: a CA, a certificate and an event key per service, a token issuer
 * (libs/platform `ensureLocalCredentials` in a temporary folder), plus clients' credentials for
 * any principal. A test that turns authentication on gives each service its `serviceEnv` and
 * calls with `as(name, roles)`.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { channelCredentials, createEventSigner, ensureLocalCredentials, issueToken, loadTlsDir, readEventPrivateKey, type EventSigner, type LocalCredentials, type Role } from '@refit/platform';

/** A test's credentials. */
export type TestCredentials = LocalCredentials & {
  /** Client credentials of a principal holding `roles` (a bearer token over TLS). */
  as(name: string, roles: readonly Role[]): Promise<ChannelCredentials>;
  /** Client credentials of one of Refit's services (its mutual-TLS certificate). */
  asService(service: string): ChannelCredentials;
  /** TLS without any credential. */
  anonymous(): ChannelCredentials;
  /** Signs events as `service` does (for a test that plays that service). */
  signer(service: string): EventSigner;
  /** Removes the folder. */
  cleanup(): void;
};

/** Makes a fresh set of credentials in a temporary folder. */
export async function createTestCredentials(): Promise<TestCredentials> {
  const dir = mkdtempSync(join(tmpdir(), 'refit-creds-'));
  const local = await ensureLocalCredentials(dir);
  const ca = readFileSync(join(dir, 'ca', 'ca.crt'));
  const issuer = createPrivateKey(readFileSync(join(dir, 'tokens', 'issuer.key')));
  return {
    ...local,
    // Tests share the machine's NATS, which has no users: the services connect without one.
    serviceEnv: (service) => {
      const { REFIT_NATS_USER: _u, REFIT_NATS_PASSWORD: _p, ...rest } = local.serviceEnv(service);
      return rest;
    },
    async as(name, roles) {
      return channelCredentials({ ca, token: await issueToken({ privateKey: issuer, name, roles, ttlSeconds: 3600 }) });
    },
    asService: (service) => channelCredentials(loadTlsDir(join(dir, 'services', service))),
    anonymous: () => channelCredentials({ ca }),
    signer: (service) => createEventSigner(service, readEventPrivateKey(join(dir, 'services', service, 'event.key'))),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

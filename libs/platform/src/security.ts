/**
 * A service's security material, loaded once at start-up from the paths in its config: TLS for
 * gRPC (server and client side), the authenticator of incoming calls, and the keys that sign its
 * events and verify everyone else's. Missing material in development means "off", with a warning
 * that says what is open; production refuses to start without it (config.ts).
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createAuthenticator, OPEN_AUTHENTICATOR, type Authenticator } from './auth/authenticator.js';
import { channelCredentials, loadTlsDir, serverCredentials, type TlsMaterial } from './auth/tls.js';
import { createTokenVerifier } from './auth/tokens.js';
import { DEFAULT_PORTS, type BaseConfig } from './config.js';
import { InvalidInputError } from './errors.js';
import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from './logger.js';
import { createEventSigner, createEventVerifier, readEventPrivateKey, readEventPublicKeys, type EventSigner, type EventVerifier } from './nats/signing.js';

/** What a service runs with. */
export type ServiceSecurity = {
  /** The service's own TLS material, when configured. */
  tls?: TlsMaterial;
  /** gRPC server credentials (plaintext when undefined). */
  serverCredentials?: ServerCredentials;
  /** Credentials of this service's calls to other services (mutual TLS). */
  clientCredentials?: ChannelCredentials;
  /** Decides every incoming call. */
  auth: Authenticator;
  /** Signs outgoing events. */
  signer?: EventSigner;
  /** Checks incoming events. */
  verifier?: EventVerifier;
};

/** Loads the material named in `config.security`; a missing or malformed file is named. */
export function loadServiceSecurity(config: Readonly<BaseConfig>, logger: Logger): ServiceSecurity {
  const s = config.security;
  const out: ServiceSecurity = { auth: OPEN_AUTHENTICATOR };
  if (s.tlsDir) {
    const tls = loadTlsDir(s.tlsDir);
    let tokens;
    if (s.tokenPublicKeyFile) {
      try {
        tokens = createTokenVerifier(createPublicKey(readFileSync(s.tokenPublicKeyFile)));
      } catch (err) {
        throw new InvalidInputError(`cannot read the token public key at ${s.tokenPublicKeyFile} (REFIT_TOKEN_PUBLIC_KEY): ${(err as Error).message}`, { cause: err });
      }
    }
    Object.assign(out, {
      tls,
      serverCredentials: serverCredentials(tls),
      clientCredentials: channelCredentials(tls),
      auth: createAuthenticator({ tokens, services: Object.keys(DEFAULT_PORTS) }),
    });
    if (!tokens) logger.warn('REFIT_TOKEN_PUBLIC_KEY is not set: only client certificates authenticate callers');
  } else {
    logger.warn('REFIT_TLS_DIR is not set: gRPC is plaintext and every caller may do everything (development only)');
  }
  if (s.eventKeyFile) out.signer = createEventSigner(config.service, readEventPrivateKey(s.eventKeyFile));
  else logger.warn('REFIT_EVENT_KEY is not set: this service\'s events are not signed');
  if (s.eventKeysDir) out.verifier = createEventVerifier({ subjectPrefix: config.subjectPrefix, keys: readEventPublicKeys(s.eventKeysDir) });
  else logger.warn('REFIT_EVENT_KEYS_DIR is not set: events are not verified, anyone who can publish on NATS is trusted (development only)');
  return out;
}

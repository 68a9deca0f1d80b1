import type { Role } from './roles.js';

/** Who made a call, as the server established it (never what the caller claims in a field). */
export type Identity = {
  /**
   * `principal`: a person or an application holding roles (a bearer token or a client
   * certificate); `service`: one of Refit's own services (its mutual-TLS certificate);
   * `anonymous`: authentication is off (development without TLS material).
   */
  readonly kind: 'principal' | 'service' | 'anonymous';
  /** The principal's name (`alice`, `checkout-app`), the service's name (`deployer`), or `anonymous`. */
  readonly name: string;
  /** The roles a principal holds (a service's calls are listed in SERVICE_CALLS instead). */
  readonly roles: readonly Role[];
  /** How the caller proved it. */
  readonly via: 'certificate' | 'token' | 'none';
  /**
   * The person a service acts for (the `refit-on-behalf-of` metadata, honoured from Refit's own
   * services only): the deployer promoting a rollout because alice asked.
   */
  readonly onBehalfOf?: string;
};

/** Metadata key a Refit service sets when it calls another service for a person. */
export const ON_BEHALF_OF_KEY = 'refit-on-behalf-of';

/** The identity of every call while authentication is off. */
export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous', name: 'anonymous', roles: Object.freeze(['admin'] as Role[]), via: 'none' });

/**
 * What runs, the ledger and alias history record as the actor: `alice`, `service:deployer`,
 * `alice via service:deployer`, or `anonymous (authentication off)`.
 */
export function actorOf(id: Identity): string {
  if (id.kind === 'anonymous') return 'anonymous (authentication off)';
  if (id.kind === 'service') return id.onBehalfOf ? `${id.onBehalfOf} via service:${id.name}` : `service:${id.name}`;
  return id.name;
}

/** Metadata a service adds to a call it makes for `id` (nothing when `id` is not a person). */
export function onBehalfOfMetadata(id: Identity | undefined): Record<string, string> {
  if (!id || id.kind === 'anonymous') return {};
  const who = id.kind === 'service' ? id.onBehalfOf : id.name;
  return who ? { [ON_BEHALF_OF_KEY]: who } : {};
}

// Names that are safe in logs, the ledger and error messages.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$/;

/** True for a name a credential may carry (letters, digits and . _ @ : + -, at most 128). */
export const isIdentityName = (v: unknown): v is string => typeof v === 'string' && NAME.test(v);

/**
 * Authentication and authorisation of one gRPC call, run before every handler (grpc/handlers.ts):
 * the caller is a Refit service (its mutual-TLS certificate), a principal (a bearer token or a
 * client certificate carrying roles), or nobody, and the method's role decides.
 */
import type { PeerCertificate } from 'node:tls';
import type { Metadata } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from '../errors.js';
import { ANONYMOUS, ON_BEHALF_OF_KEY, isIdentityName, type Identity } from './identity.js';
import { METHOD_ROLES, ROLE_PURPOSE, SERVICE_CALLS, isRole, rolesAllow, type Role } from './roles.js';
import type { TokenVerifier } from './tokens.js';

/** The organisational unit that marks a certificate as one of Refit's own services. */
export const SERVICE_OU = 'refit-service';

/** What the server knows about a call before its handler runs. */
export type CallCredentials = {
  /** Full method path, `/refit.registry.v1.RegistryService/SetAlias`. */
  method: string;
  metadata: Metadata;
  /** The client certificate, present only when it verified against the CA. */
  peerCertificate?: PeerCertificate;
};

/** Decides who a call comes from and whether it may proceed. */
export type Authenticator = {
  /** False while authentication is off (every caller is anonymous and may do everything). */
  readonly enabled: boolean;
  /** The caller's identity; throws UnauthenticatedError or PermissionDeniedError. */
  authorize(call: CallCredentials): Promise<Identity>;
};

/** Authentication off: development without TLS material. */
export const OPEN_AUTHENTICATOR: Authenticator = Object.freeze({ enabled: false, authorize: () => Promise.resolve(ANONYMOUS) });

/** Options of {@link createAuthenticator}. */
export type AuthenticatorOptions = {
  /** Verifies bearer tokens; without it only client certificates authenticate. */
  tokens?: TokenVerifier;
  /** Names a service certificate may carry (the seven services). */
  services: readonly string[];
};

const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Creates the authenticator of a server whose TLS layer verifies client certificates. */
export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const fromCertificate = (cert: PeerCertificate): Identity => {
    const name = values(cert.subject?.CN)[0];
    const units = values(cert.subject?.OU);
    if (!isIdentityName(name)) throw new UnauthenticatedError('the client certificate has no usable common name (CN)');
    if (units.includes(SERVICE_OU)) {
      if (!opts.services.includes(name)) throw new UnauthenticatedError(`the client certificate claims to be Refit service '${name}', which does not exist`);
      return { kind: 'service', name, roles: [], via: 'certificate' };
    }
    const roles = units.filter(isRole);
    if (roles.length === 0) throw new UnauthenticatedError(`the client certificate of '${name}' carries no role (an OU of viewer, predictor, operator or admin)`);
    return { kind: 'principal', name, roles, via: 'certificate' };
  };

  const identify = async (call: CallCredentials): Promise<Identity> => {
    if (call.peerCertificate) return fromCertificate(call.peerCertificate);
    const [auth] = call.metadata.get('authorization');
    if (typeof auth === 'string' && auth.length > 0) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m) throw new UnauthenticatedError("the 'authorization' metadata must be 'Bearer <token>'");
      if (!opts.tokens) throw new UnauthenticatedError('this server does not accept bearer tokens (REFIT_TOKEN_PUBLIC_KEY is not set): use a client certificate');
      const claims = await opts.tokens.verify(m[1]);
      return { kind: 'principal', name: claims.name, roles: claims.roles, via: 'token' };
    }
    throw new UnauthenticatedError(
      `${shortMethod(call.method)} needs a credential: a bearer token (metadata 'authorization: Bearer <token>'; the CLI reads REFIT_TOKEN, REFIT_TOKEN_FILE or .refit/admin.token) or a client certificate signed by this deployment's CA. An admin issues one with 'refit auth token --name <who> --role <role>'`,
    );
  };

  return {
    enabled: true,
    async authorize(call) {
      let id = await identify(call);
      const needed = METHOD_ROLES[call.method.replace(/^\//, '')] as Role | undefined;
      if (!needed) throw new PermissionDeniedError(`${shortMethod(call.method)} is not open to any caller`);
      if (id.kind === 'service') {
        const allowed = needed === 'viewer' || (SERVICE_CALLS[id.name] ?? []).includes(call.method.replace(/^\//, ''));
        if (!allowed) throw new PermissionDeniedError(`service '${id.name}' may not call ${shortMethod(call.method)}: a service may only read and make the calls of its own stage`);
        const [who] = call.metadata.get(ON_BEHALF_OF_KEY);
        if (typeof who === 'string' && isIdentityName(who)) id = { ...id, onBehalfOf: who };
        return id;
      }
      if (!rolesAllow(id.roles, needed)) {
        throw new PermissionDeniedError(
          `'${id.name}' (roles: ${id.roles.join(', ')}) may not call ${shortMethod(call.method)}: it needs the ${needed} role (${ROLE_PURPOSE[needed]}); ask an admin for a credential with it`,
        );
      }
      return id;
    },
  };
}

/** `/refit.registry.v1.RegistryService/SetAlias` → `RegistryService/SetAlias`. */
function shortMethod(path: string): string {
  return path.replace(/^\/?(?:[a-z0-9_]+\.)*/, '');
}

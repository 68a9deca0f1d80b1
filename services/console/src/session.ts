/**
 * Who is asking: the bearer token of an `Authorization` header or of the session cookie set by
 * /login. The console reads the token's claims only to decide which buttons to show; it never
 * decides access itself: every call forwards the token and the service verifies and authorises it.
 */
import { METHOD_ROLES, isRole, rolesAllow, type Role } from '@refit/platform';
import type { Permissions, Viewer } from '@refit/views';

/** The session cookie's name. */
export const COOKIE = 'refit_token';
/** Longest token accepted (the services' own limit). */
export const TOKEN_MAX = 4096;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A request's credential and what its claims say. */
export type Session = {
  /** The token to forward; undefined when authentication is off. */
  token?: string;
  /** Where the token came from: a cookie needs a CSRF check on POST, a header does not. */
  via: 'cookie' | 'header' | 'open';
  viewer: Viewer;
};

/** What the roles allow, from the same table the services enforce. */
export function permissionsOf(roles: readonly Role[]): Permissions {
  const may = (method: string): boolean => {
    const needed = METHOD_ROLES[method];
    return needed !== undefined && rolesAllow(roles, needed);
  };
  return Object.freeze({
    triggerRun: may('refit.trigger.v1.TriggerService/TriggerRun'),
    cancelRun: may('refit.trigger.v1.TriggerService/CancelRun'),
    rollout: may('refit.deployer.v1.DeployerService/PromoteRollout') && may('refit.deployer.v1.DeployerService/AbortRollout'),
    setAlias: may('refit.registry.v1.RegistryService/SetAlias'),
  });
}

/** The unverified claims of a JWT (name, roles, expiry), or undefined when it is not one. */
export function readClaims(token: string): { name: string; roles: Role[]; expiresAtMs?: number } | undefined {
  if (token.length > TOKEN_MAX || !JWT.test(token)) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { sub?: unknown; roles?: unknown; exp?: unknown };
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    if (typeof payload.sub !== 'string' || roles.length === 0) return undefined;
    return { name: payload.sub.slice(0, 128), roles, expiresAtMs: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
  } catch {
    return undefined;
  }
}

/** Reads one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

const OPEN: Session = Object.freeze({ via: 'open', viewer: Object.freeze({ name: 'anonymous', roles: ['admin'], can: permissionsOf(['admin']) }) });

/**
 * The session of a request: with authentication off (no TLS, a development stack) everyone is
 * admin, as in the services; otherwise the header's or the cookie's token, or none (sign in).
 */
export function sessionOf(headers: { authorization?: string; cookie?: string }, authEnabled: boolean, nowMs = Date.now()): Session | undefined {
  if (!authEnabled) return OPEN;
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
  const token = bearer ?? cookieValue(headers.cookie, COOKIE);
  if (!token) return undefined;
  const claims = readClaims(token);
  if (!claims || (claims.expiresAtMs !== undefined && claims.expiresAtMs <= nowMs)) return undefined;
  return { token, via: bearer ? 'header' : 'cookie', viewer: { name: claims.name, roles: claims.roles, can: permissionsOf(claims.roles) } };
}

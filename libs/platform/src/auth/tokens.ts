/**
 * Bearer tokens for people and applications: JWTs signed with Ed25519 (`jose`) by whoever holds
 * the issuer's private key (an admin, with `refit auth token`); services hold only the public key,
 * so no service can mint a token.
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { InvalidInputError, UnauthenticatedError } from '../errors.js';
import { isIdentityName } from './identity.js';
import { isRole, type Role } from './roles.js';

/** The `iss` and `aud` of every Refit token. */
export const TOKEN_ISSUER = 'refit';
const AUDIENCE = 'refit';
/** Longest lifetime a token may be issued with: 400 days. */
export const MAX_TOKEN_TTL_S = 400 * 86_400;

/** What a verified token says. */
export type TokenClaims = { name: string; roles: Role[]; expiresAt?: Date };

/** Options of {@link issueToken}. */
export type IssueTokenOptions = {
  /** Ed25519 private key of the issuer. */
  privateKey: KeyObject;
  /** Who the token is for (`alice`, `checkout-app`). */
  name: string;
  /** What it may do. */
  roles: readonly Role[];
  /** Lifetime in seconds (at most {@link MAX_TOKEN_TTL_S}). */
  ttlSeconds: number;
};

/** Signs a token; refuses a bad name, an unknown role or a lifetime out of range. */
export async function issueToken(opts: IssueTokenOptions): Promise<string> {
  if (!isIdentityName(opts.name)) throw new InvalidInputError(`token name ${JSON.stringify(opts.name)}: use letters, digits and . _ @ : + - (at most 128)`);
  if (opts.roles.length === 0 || !opts.roles.every(isRole)) throw new InvalidInputError(`token roles ${JSON.stringify(opts.roles)}: give at least one of viewer, predictor, operator, admin`);
  if (!(opts.ttlSeconds >= 60 && opts.ttlSeconds <= MAX_TOKEN_TTL_S)) throw new InvalidInputError(`token lifetime ${opts.ttlSeconds} s: between 60 s and ${MAX_TOKEN_TTL_S / 86_400} days`);
  return new SignJWT({ roles: [...opts.roles] })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(opts.name)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + opts.ttlSeconds)
    .sign(opts.privateKey);
}

/** Verifies tokens, remembering the good ones (until they expire) so a hot path pays once. */
export type TokenVerifier = { verify(token: string): Promise<TokenClaims> };

const CACHE_MAX = 1024;
// Tokens longer than this are refused before any parsing: a credential is a few hundred bytes.
const TOKEN_MAX = 4096;

/** A verifier for tokens signed by the private half of `publicKey`. */
export function createTokenVerifier(publicKey: KeyObject): TokenVerifier {
  const cache = new Map<string, TokenClaims>();
  return {
    async verify(token) {
      const hit = cache.get(token);
      if (hit && (!hit.expiresAt || hit.expiresAt.getTime() > Date.now())) return hit;
      if (hit) cache.delete(token);
      if (token.length > TOKEN_MAX) throw new UnauthenticatedError(`the bearer token is ${token.length} characters long; a Refit token is under ${TOKEN_MAX}`);
      let payload;
      try {
        ({ payload } = await jwtVerify(token, publicKey, { issuer: TOKEN_ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'], requiredClaims: ['sub', 'exp'] }));
      } catch (err) {
        throw new UnauthenticatedError(`the bearer token was refused: ${tokenProblem(err)}; ask an admin for a new one ('refit auth token --name <who> --role <role>')`, { cause: err });
      }
      const roles = Array.isArray(payload.roles) ? payload.roles : [];
      if (!isIdentityName(payload.sub) || roles.length === 0 || !roles.every(isRole)) {
        throw new UnauthenticatedError('the bearer token was refused: its subject or roles are malformed');
      }
      const claims: TokenClaims = { name: payload.sub, roles: roles as Role[], expiresAt: payload.exp ? new Date(payload.exp * 1000) : undefined };
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
      cache.set(token, claims);
      return claims;
    },
  };
}

function tokenProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'it has expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not match this deployment\'s token key';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim '${err.claim}' is wrong (${err.reason})`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'it is not signed with EdDSA';
  return 'it is not a valid Refit token';
}

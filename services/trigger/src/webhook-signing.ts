import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header with the signature of a webhook body: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'Refit-Signature';
/** Header with the alert's id, the same on every attempt: receivers de-duplicate on it. */
export const ALERT_ID_HEADER = 'Refit-Alert-Id';

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The {@link SIGNATURE_HEADER} value for `body` sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signBody(secret, timestamp, body)}`;
}

/**
 * Checks a {@link SIGNATURE_HEADER} value as a receiver would: the HMAC of the raw body must match
 * (compared in constant time) and the timestamp must be within `toleranceSec` of `nowSec`, so a
 * captured request cannot be replayed later.
 */
export function verifySignature(secret: string, header: string, body: string, nowSec: number, toleranceSec = 300): boolean {
  const parts = new Map(header.split(',').map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()]));
  const t = Number(parts.get('t'));
  const given = Buffer.from(parts.get('v1') ?? '', 'hex');
  if (!Number.isInteger(t) || Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(signBody(secret, t, body), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}


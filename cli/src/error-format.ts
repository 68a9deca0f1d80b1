// How the CLI shows a failed command: the error's sentence, then — from the standard
// google.rpc.Status details a service sent (grpc-status-details-bin) — each bad field of the
// request and, for an unavailable service, how long it asked to wait. Types only: main.ts loads
// the platform library lazily, when a command has failed.
import type { FieldViolation, StatusDetails } from '@refit/platform/client';

/** What the CLI reads off an error (a RefitError, a GrpcCallError, or anything else). */
type Readable = { kind?: string; reason?: string; violations?: readonly FieldViolation[]; retryAfterMs?: number; statusDetails?: StatusDetails };

/** The lines printed after `refit: <message>`: one per bad field (its description unless it is the message itself). */
export function errorDetailLines(err: unknown, message: string): string[] {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Readable;
  const lines = (e.violations ?? []).map((v) => `  ${v.field}${v.description && v.description !== message ? `: ${v.description}` : ''}`);
  const retry = e.retryAfterMs ?? e.statusDetails?.retryInfo?.retryDelayMs;
  if (e.kind === 'unavailable' && retry !== undefined) lines.push(`  (retry in ${retry >= 1000 ? `${Math.round(retry / 100) / 10} s` : `${retry} ms`})`);
  return lines;
}

/** The `error` object of `--json` output: kind and message, plus the reason, field violations and retry delay when known. */
export function errorJson(err: unknown, kind: string, message: string): Record<string, unknown> {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Readable;
  const out: Record<string, unknown> = { kind, message };
  const reason = e.reason ?? e.statusDetails?.errorInfo?.reason;
  if (reason) out.reason = reason;
  if (e.violations && e.violations.length > 0) out.fieldViolations = e.violations.map((v) => ({ field: v.field, description: v.description }));
  const retry = e.retryAfterMs ?? e.statusDetails?.retryInfo?.retryDelayMs;
  if (retry !== undefined) out.retryDelayMs = retry;
  return out;
}

/** HTTP plumbing of the console: responses with security headers, bounded bodies, errors as pages. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRefitError } from '@refit/platform';
import type { SafeHtml } from '@refit/views';

/** A refusal with the HTTP status and a message a person can act on. */
export class HttpError extends Error {
  /**
   * @param status HTTP status code
   * @param title short title of the error page
   */
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a route answers. */
export type Reply = { status?: number; html?: SafeHtml; json?: unknown; redirect?: string; headers?: Record<string, string> };

/** Largest form body accepted (a reason and a few fields; a token is under 4 KiB). */
export const BODY_MAX = 16 * 1024;
/** Longest request target accepted. */
export const URL_MAX = 2048;

/** A fresh CSP nonce for one response. */
export const newNonce = (): string => randomBytes(16).toString('base64');

/** The headers every answer carries; `nonce` lets the page's own inline script and style run. */
export function securityHeaders(nonce: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; script-src 'self' 'nonce-${nonce}'; style-src 'self' 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the console's own form POSTs, which checkOrigin refuses.
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}

/** Writes a reply. */
export function send(res: ServerResponse, nonce: string, r: Reply): void {
  const headers: Record<string, string> = { ...securityHeaders(nonce), ...r.headers };
  if (r.redirect) {
    res.writeHead(r.status ?? 303, { ...headers, location: r.redirect }).end();
  } else if (r.json !== undefined) {
    res.writeHead(r.status ?? 200, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(r.json));
  } else {
    res.writeHead(r.status ?? 200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(r.html?.value ?? '');
  }
}

/** Reads a urlencoded form body of at most {@link BODY_MAX} bytes. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
  if (type !== 'application/x-www-form-urlencoded') throw new HttpError(415, 'Unsupported form', 'send the form as application/x-www-form-urlencoded');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > BODY_MAX) throw new HttpError(413, 'Form too large', `a form may hold at most ${BODY_MAX} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_MAX) throw new HttpError(413, 'Form too large', `a form may hold at most ${BODY_MAX} bytes`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const KIND_STATUS: Record<string, [number, string]> = {
  invalid_input: [400, 'Not accepted'],
  not_found: [404, 'Not found'],
  conflict: [409, 'Conflict'],
  failed_precondition: [409, 'Not possible now'],
  unauthenticated: [401, 'Sign in'],
  permission_denied: [403, 'Not allowed'],
  unavailable: [503, 'Service unavailable'],
};

/** An error as status, title and message: the service's own words for its refusals, nothing internal otherwise. */
export function describeError(err: unknown): { status: number; title: string; message: string } {
  if (err instanceof HttpError) return { status: err.status, title: err.title, message: err.message };
  if (isRefitError(err) && KIND_STATUS[err.kind]) {
    const [status, title] = KIND_STATUS[err.kind];
    return { status, title, message: err.message };
  }
  return { status: 500, title: 'Something went wrong', message: 'the console could not answer; its log has the details' };
}

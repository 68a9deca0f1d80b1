import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { checkWebhookHost, guardedLookup, type WebhookAddressPolicy } from './webhook-address.js';

/** One POST to a webhook. */
export type WebhookPost = {
  /** The webhook's http(s) URL. */
  url: string;
  /** Request headers (`content-length` is added). */
  headers: Record<string, string>;
  /** The JSON body. */
  body: string;
  /** Aborts the call (shutdown, timeout). */
  signal: AbortSignal;
  /** Which addresses the call may connect to. */
  policy: WebhookAddressPolicy;
};

/**
 * POSTs to a webhook and resolves to the HTTP status; the answer's body is not read and a
 * redirect is not followed (its 3xx status is the result). The socket connects only to an address
 * `policy` allows, checked at this moment: an IP literal before the call, a host name by the
 * socket's own `lookup`. Rejects with WebhookAddressRefusedError when the host is refused, else
 * with the socket's error (`code` ECONNREFUSED, ENOTFOUND…) or the abort.
 */
export async function postWebhook(p: WebhookPost): Promise<number> {
  const url = new URL(p.url);
  // A socket never looks an IP literal up, so the lookup below would not see it.
  if (isIP(url.hostname.replace(/^\[(.*)\]$/, '$1'))) await checkWebhookHost(url.hostname, p.policy);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...p.headers, 'content-length': String(Buffer.byteLength(p.body)) },
        lookup: guardedLookup(p.policy),
        // A pooled keep-alive socket was connected under an earlier check: each delivery connects anew.
        agent: false,
        signal: p.signal,
      },
      (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end(p.body);
  });
}

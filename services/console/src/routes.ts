/** What a route receives and how routes are declared. */
import type { IncomingMessage } from 'node:http';
import type { CallOptions } from '@refit/platform';
import type { PageContext } from '@refit/views';
import type { Api } from './api.js';
import type { Reply } from './http.js';
import type { Session } from './session.js';

/** One request as a route sees it. */
export type RouteContext = {
  req: IncomingMessage;
  url: URL;
  /** Path parameters, still percent-encoded (validate with validate.ts). */
  params: string[];
  session: Session;
  /** Options for every gRPC call made for this person (their token). */
  call: CallOptions;
  /** The page context (nonce, viewer, assets). */
  page: PageContext;
  api: Api;
};

/** A route: method, path pattern (capturing groups are the params) and handler. */
export type Route = { method: 'GET' | 'POST'; path: RegExp; handle: (c: RouteContext) => Promise<Reply> };

/** Shorthand for a route. */
export const route = (method: Route['method'], path: RegExp, handle: Route['handle']): Route => ({ method, path, handle });

/** Converts an HTML fragments record into the JSON a live page polls. */
export function fragmentsJson(f: Record<string, { value: string }>, done: boolean): { fragments: Record<string, string>; done: boolean } {
  return { fragments: Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.value])), done };
}

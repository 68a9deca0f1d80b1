/** The console's HTTP server (node:http): assets, sign-in, CSRF and auth checks, routing, error pages. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@refit/platform';
import { isUnauthenticated } from '@refit/platform';
import { loadUplotAssets, renderErrorPage, renderLoginPage, type PageContext } from '@refit/views';
import { asPerson, type Api } from './api.js';
import { checkOrigin, login, sessionCookie } from './auth-routes.js';
import type { ConsoleConfig } from './config.js';
import { HttpError, URL_MAX, describeError, newNonce, send, type Reply } from './http.js';
import { modelsRoutes } from './models-routes.js';
import { pipelineRoutes } from './pipeline-routes.js';
import { rolloutRoutes } from './rollout-routes.js';
import type { Route } from './routes.js';
import { runRoutes } from './run-routes.js';
import { sessionOf } from './session.js';

const ROUTES: Route[] = [...pipelineRoutes, ...runRoutes, ...rolloutRoutes, ...modelsRoutes];
const ASSETS = '/assets';

/** What the server needs. */
export type ConsoleServerOptions = { api: Api; config: Pick<ConsoleConfig, 'ca' | 'allowedOrigins' | 'secureCookie'>; logger: Logger };

function assetReply(res: ServerResponse, path: string): boolean {
  const { js, css } = loadUplotAssets();
  const body = path === `${ASSETS}/uplot.iife.min.js` ? js : path === `${ASSETS}/uplot.min.css` ? css : undefined;
  if (body === undefined) return false;
  const type = path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8';
  res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=86400', 'x-content-type-options': 'nosniff' }).end(body);
  return true;
}

/** Handles one request; never throws (every failure becomes an error page or JSON). */
async function handle(o: ConsoleServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const nonce = newNonce();
  const authEnabled = o.config.ca !== undefined;
  const base: PageContext = { nonce, assets: { kind: 'linked', base: ASSETS } };
  const isApi = (req.url ?? '').startsWith('/api/');
  let page = base;
  // A browser that leaves (a new page, a closed tab) cancels the calls made for it.
  const ac = new AbortController();
  res.once('close', () => ac.abort());
  try {
    if ((req.url ?? '').length > URL_MAX) throw new HttpError(414, 'Address too long', `a console address may be at most ${URL_MAX} characters`);
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const method = req.method ?? 'GET';
    if (method === 'GET' && assetReply(res, url.pathname)) return;
    if (url.pathname === '/healthz') return send(res, nonce, { json: { status: 'ok' } });
    if (url.pathname === '/login') {
      if (method === 'POST') {
        checkOrigin(req.headers, o.config.allowedOrigins);
        return send(res, nonce, await login({ req, page: base, api: o.api, secureCookie: o.config.secureCookie }));
      }
      return send(res, nonce, { html: renderLoginPage(base) });
    }
    if (url.pathname === '/logout') return send(res, nonce, { redirect: '/login', headers: { 'set-cookie': sessionCookie(undefined, o.config.secureCookie) } });
    const session = sessionOf(req.headers, authEnabled);
    if (!session) {
      if (isApi || method !== 'GET') throw new HttpError(401, 'Sign in', 'sign in first: a bearer token in the Authorization header or through /login');
      return send(res, nonce, { redirect: '/login' });
    }
    page = { ...base, viewer: session.viewer };
    if (method === 'POST' && session.via !== 'header') checkOrigin(req.headers, o.config.allowedOrigins);
    const matching = ROUTES.map((r) => ({ r, m: r.path.exec(url.pathname) })).filter((x) => x.m);
    const hit = matching.find((x) => x.r.method === method);
    if (!hit) throw matching.length > 0 ? new HttpError(405, 'Method not allowed', `${method} is not accepted here`) : new HttpError(404, 'Not found', `there is no page at ${url.pathname}`);
    const reply: Reply = await hit.r.handle({ req, url, params: hit.m!.slice(1), session, call: asPerson(session.token, ac.signal), page, api: o.api });
    send(res, nonce, reply);
  } catch (err) {
    // Nobody is waiting for this answer: its calls were cancelled because the browser left.
    if (ac.signal.aborted) return void res.end();
    const e = describeError(err);
    if (e.status >= 500) o.logger.error({ err, url: req.url }, 'console request failed');
    if (res.headersSent) return void res.end();
    if (isApi) return send(res, nonce, { status: e.status, json: { error: e.message } });
    // A stored token the services no longer accept (expired, revoked key): sign in again.
    if (isUnauthenticated(err) && authEnabled) return send(res, nonce, { status: 401, html: renderLoginPage(base, e.message), headers: { 'set-cookie': sessionCookie(undefined, o.config.secureCookie) } });
    send(res, nonce, { status: e.status, html: renderErrorPage(page, e.status, e.title, e.message) });
  }
}

/** Creates the HTTP server (not yet listening). */
export function createConsoleServer(o: ConsoleServerOptions): Server {
  return createServer({ requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
    handle(o, req, res).catch((err: unknown) => {
      // handle() answers every error itself; this is the last resort for a failure while answering.
      o.logger.error({ err }, 'console could not answer');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });
}

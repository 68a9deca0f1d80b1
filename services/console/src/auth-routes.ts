/** `/login` (a token pasted once, kept in an HttpOnly SameSite=Strict cookie) and `/logout`. */
import { isUnauthenticated } from '@refit/platform';
import { renderLoginPage } from '@refit/views';
import type { Api } from './api.js';
import { asPerson } from './api.js';
import { HttpError, readForm, type Reply } from './http.js';
import type { RouteContext } from './routes.js';
import { COOKIE, TOKEN_MAX, readClaims } from './session.js';

/** The Set-Cookie value that stores `token` (or clears it when undefined). */
export function sessionCookie(token: string | undefined, secure: boolean): string {
  const attrs = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return token ? `${COOKIE}=${token}; ${attrs}; Max-Age=${12 * 3600}` : `${COOKIE}=; ${attrs}; Max-Age=0`;
}

/**
 * Checks a pasted token with a read every signed-in person may make (ListPipelines), so a token
 * the services would refuse is refused here with the services' own reason.
 */
export async function login(c: Pick<RouteContext, 'req' | 'page'> & { api: Api; secureCookie: boolean }): Promise<Reply> {
  const token = ((await readForm(c.req)).get('token') ?? '').trim();
  if (token.length === 0 || token.length > TOKEN_MAX || !readClaims(token)) {
    return { status: 400, html: renderLoginPage(c.page, `that is not a Refit token (a JWT of at most ${TOKEN_MAX} characters with a name and roles)`) };
  }
  try {
    await c.api.trigger.listPipelines({}, asPerson(token));
  } catch (err) {
    if (isUnauthenticated(err)) return { status: 401, html: renderLoginPage(c.page, err.message) };
    throw err;
  }
  return { redirect: '/', headers: { 'set-cookie': sessionCookie(token, c.secureCookie) } };
}

/** Refuses a POST whose Origin is not this console's (a form on another site cannot act with the cookie). */
export function checkOrigin(headers: { origin?: string; host?: string }, allowed: readonly string[]): void {
  const origin = headers.origin;
  const host = headers.host;
  const ok = origin !== undefined && origin !== 'null' && ((host !== undefined && (origin === `http://${host}` || origin === `https://${host}`)) || allowed.includes(origin));
  if (!ok) throw new HttpError(403, 'Refused', `this form must be sent from the console's own pages (Origin ${origin ?? 'missing'} is not ${host ? `http(s)://${host}` : 'this console'})`);
}

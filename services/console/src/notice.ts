/** A short page after an action that has nothing to redirect to (a suppressed trigger). */
import { html, layout } from '@refit/views';
import type { Reply } from './http.js';
import type { RouteContext } from './routes.js';

/** A notice page with a link back. */
export function renderNotice(c: Pick<RouteContext, 'page'>, title: string, message: string, back: string): Reply {
  return { html: layout(c.page, { title, body: html`<section class="card" data-testid="notice"><h1>${title}</h1><p>${message}</p><p><a href="${back}">back</a></p></section>` }) };
}

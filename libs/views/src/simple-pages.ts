/** The login form and error pages. */
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import type { PageContext } from './page-context.js';

/** `/login`: paste a token (`refit auth token …`); `problem` says why the last one was refused. */
export function renderLoginPage(ctx: PageContext, problem?: string): SafeHtml {
  return layout(
    { ...ctx, viewer: undefined },
    {
      title: 'Sign in',
      body: html`<section class="card"><h1>Sign in</h1>${problem ? html`<p class="bad" data-testid="login-problem">${problem}</p>` : ''}
      <p>Paste your Refit token (an admin issues one with <code>refit auth token --name &lt;you&gt; --role viewer</code>).</p>
      <form class="action" method="post" action="/login"><input type="password" name="token" required maxlength="4096" autocomplete="off" aria-label="token"><button type="submit" data-testid="login-button">Sign in</button></form></section>`,
    },
  );
}

/** An error page: the HTTP status, a title and the message a person can act on. */
export function renderErrorPage(ctx: PageContext, status: number, title: string, message: string): SafeHtml {
  return layout(ctx, {
    title,
    body: html`<section class="card error" data-testid="error" data-status="${status}"><h1>${title}</h1><p data-testid="error-message">${message}</p><p><a href="/">back to the pipelines</a></p></section>`,
  });
}

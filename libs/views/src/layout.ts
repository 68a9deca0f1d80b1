/** The one page layout: header navigation, the stylesheet, uPlot and the page script. */
import { CLIENT_SCRIPT } from './client-script.js';
import { html, raw, type HtmlValue, type SafeHtml } from './html.js';
import type { PageContext } from './page-context.js';
import { CONSOLE_CSS } from './styles.js';

/** Options of {@link layout}. */
export type LayoutOptions = {
  /** The document title (escaped). */
  title: string;
  /** The pipeline the page is about: adds its links to the navigation. */
  pipeline?: string;
  /** A live page's JSON endpoint, polled about once a second. */
  poll?: string;
  /** The page body. */
  body: HtmlValue;
};

/** Links of a pipeline's pages. */
export function pipelineNav(name: string): SafeHtml {
  const base = `/pipelines/${encodeURIComponent(name)}`;
  return html`<nav class="sub" aria-label="${name}"><a href="${base}">runs</a> · <a href="${base}/models">models &amp; ledger</a> · <a href="${base}/rollout">rollout</a> · <a href="${base}/drift">drift</a></nav>`;
}

/** A whole HTML document around `body`. */
export function layout(ctx: PageContext, opts: LayoutOptions): SafeHtml {
  const nonce = ctx.nonce ? html` nonce="${ctx.nonce}"` : '';
  const a = ctx.assets;
  const head =
    a.kind === 'linked'
      ? html`<link rel="stylesheet" href="${a.base}/uplot.min.css"><script src="${a.base}/uplot.iife.min.js"${nonce}></script>`
      : html`<style>${raw(a.uplotCss)}</style><script>${raw(a.uplotJs)}</script>`;
  const viewer = ctx.viewer;
  const nav = viewer
    ? html`<header class="top"><a class="brand" href="/">Refit</a><a href="/">pipelines</a>${opts.pipeline ? html`<span class="muted">${opts.pipeline}:</span>${pipelineNav(opts.pipeline)}` : ''}<span class="who" data-testid="viewer">${viewer.name} (${viewer.roles.join(', ')}) · <a href="/logout">sign out</a></span></header>`
    : html`<header class="top"><span class="brand">Refit</span><span class="muted">report</span></header>`;
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>${opts.title} · Refit</title>${head}<style${nonce}>${raw(CONSOLE_CSS)}</style></head><body${opts.poll ? html` data-poll="${opts.poll}"` : ''}>${nav}<main>${opts.body}</main><script${nonce}>${raw(CLIENT_SCRIPT)}</script></body></html>`;
}

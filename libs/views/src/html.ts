/**
 * A tagged template for HTML that escapes every interpolation: text from pipelines, reasons,
 * feature names or users can never become markup. Only values already wrapped as {@link SafeHtml}
 * (the output of `html` itself, or {@link raw} for constants) are inserted as they are.
 */

/** A string of HTML known to be safe to insert (built by {@link html} or {@link raw}). */
export class SafeHtml {
  /** @param value markup that was escaped or is a trusted constant */
  constructor(readonly value: string) {}
  /** The markup. */
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated: text (escaped), numbers, safe HTML, nothing, or lists of these. */
export type HtmlValue = string | number | bigint | boolean | null | undefined | SafeHtml | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an HTML element body or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** Builds HTML: literal parts are kept, every interpolated value is escaped (see {@link HtmlValue}). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Marks a trusted constant (CSS, the page script) as HTML. Never pass data to it. */
export function raw(trusted: string): SafeHtml {
  return new SafeHtml(trusted);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the line separators are
 * written as \u escapes, so a string holding `</script>` cannot end the block.
 */
export function safeJson(data: unknown): SafeHtml {
  const text = JSON.stringify(data) ?? 'null';
  return new SafeHtml(text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** A `<script type="application/json">` data block (never executed, so no CSP nonce is needed). */
export function jsonBlock(data: unknown, id?: string): SafeHtml {
  return html`<script type="application/json"${id ? html` id="${id}"` : ''}>${safeJson(data)}</script>`;
}

import { describe, expect, it } from 'vitest';
import { escapeHtml, html, jsonBlock, raw } from './html.js';

describe('html', () => {
  it('escapes every interpolation, nested lists included', () => {
    const evil = `<script>alert("x")</script>' onload=x \``;
    const out = html`<p title="${evil}">${evil}${[evil, [evil]]}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('"x"');
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=x &#96;');
  });

  it('keeps safe HTML and raw constants, drops null, undefined and false', () => {
    expect(html`<div>${html`<b>${'a&b'}</b>`}${raw('<i>c</i>')}${null}${undefined}${false}${0}</div>`.value).toBe('<div><b>a&amp;b</b><i>c</i>0</div>');
  });

  it('writes JSON blocks that a string cannot close', () => {
    const out = jsonBlock({ name: '</script><script>alert(1)</script>', amp: 'a&b' }).value;
    expect(out.match(/<\/script>/g)).toHaveLength(1);
    const inner = out.slice(out.indexOf('>') + 1, out.lastIndexOf('</script>'));
    expect(JSON.parse(inner)).toEqual({ name: '</script><script>alert(1)</script>', amp: 'a&b' });
  });

  it('escapes the five characters that matter', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

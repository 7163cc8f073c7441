import { describe, expect, it } from 'vitest';
import { escapeHtml, escapeMarkdown, html, idSlug, slug, trustedHtml } from './escape.js';

describe('escapeHtml and html``', () => {
  it('escapes the characters that open tags, attributes and entities', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;',
    );
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml({ a: '<b>' })).toBe('{&quot;a&quot;:&quot;&lt;b&gt;&quot;}');
  });

  it('escapes every interpolation except SafeHtml, including inside attributes and arrays', () => {
    const evil = '"><img src=x onerror=alert(1)>';
    const out = html`<p title="${evil}">${[evil, html`<b>${evil}</b>`]}${trustedHtml('<i>ok</i>')}</p>`.html;
    expect(out).toBe(
      '<p title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;' +
        '<b>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</b><i>ok</i></p>',
    );
    expect(html`${null}${undefined}${false}${0}`.html).toBe('0');
  });
});

describe('escapeMarkdown', () => {
  it('keeps pipes, emphasis, links and HTML inert and text on one line', () => {
    expect(escapeMarkdown('a|b *c* [x](javascript:alert(1)) <script>\nnext')).toBe(
      'a\\|b \\*c\\* \\[x\\](javascript:alert(1)) &lt;script&gt; next',
    );
  });

  it('escapes a leading block marker only where the text starts a line', () => {
    expect(escapeMarkdown('# title', { lineStart: true })).toBe('\\# title');
    expect(escapeMarkdown('1. item', { lineStart: true })).toBe('1\\. item');
    expect(escapeMarkdown('40.8K')).toBe('40.8K');
  });
});

describe('slug', () => {
  it('keeps ids to [a-z0-9-]', () => {
    expect(slug('ICP vs non-ICP <x>')).toBe('icp-vs-non-icp-x');
    expect(slug('***')).toBe('x');
  });
});

describe('idSlug', () => {
  it('keeps plain ids readable and makes ids that slugging would merge distinct', () => {
    expect(idSlug('new_mrr')).toBe('new-mrr');
    const a = idSlug('key_action:a b');
    const b = idSlug('key_action:a-b');
    expect(a).toMatch(/^key-action-a-b-[0-9a-z]+$/);
    expect(b).toMatch(/^key-action-a-b-[0-9a-z]+$/);
    expect(a).not.toBe(b);
    expect(idSlug('key_action:a b')).toBe(a);
  });
});

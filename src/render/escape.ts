/**
 * Escaping for every piece of text that comes from data (feedback, names, properties, event names,
 * summaries). The renderers never put data into HTML or Markdown any other way.
 */

/** Data as text: strings as they are, null/undefined as '', anything else as JSON. */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value) ?? '';
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Safe in element content and in quoted attribute values. Non-strings are stringified first. */
export function escapeHtml(value: unknown): string {
  return asText(value).replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Inline Markdown text (GitHub-flavoured): line breaks become spaces so a value cannot open a new
 * block or table row; inline syntax (emphasis, code, links, images, tables, strikethrough) gets a
 * backslash; HTML specials become entities (GitHub renders raw HTML); a leading block marker
 * (`#`, `-`, `+`, `=`, `1.`) is escaped when the text starts a line (`lineStart`).
 */
export function escapeMarkdown(value: unknown, opts: { lineStart?: boolean } = {}): string {
  const inline = asText(value)
    .replace(/\r\n?|\n/g, ' ')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => HTML_ESCAPES[c] ?? c);
  if (!opts.lineStart) return inline;
  return inline.replace(/^(\s*)([#+=-])/, '$1\\$2').replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/**
 * A `[a-z0-9-]` name for an id from the data (metric ids may hold event names), distinct for
 * distinct ids: when slugging loses information a short hash of the id is appended.
 */
export function idSlug(id: string): string {
  const s = slug(id);
  if (s === id.toLowerCase().replace(/_/g, '-')) return s;
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return `${s}-${h.toString(36)}`;
}

/** Keeps ids used in element ids, class names and file names to `[a-z0-9-]`. */
export function slug(value: string): string {
  const s = value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s || 'x';
}

/** Markup that is already safe: our own tags, or SVG from the chart renderer (which escapes its text). */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

function htmlPart(v: HtmlValue): string {
  if (v instanceof SafeHtml) return v.html;
  if (Array.isArray(v)) return v.map(htmlPart).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

/**
 * The one way HTML is built: every interpolated value is escaped unless it is a SafeHtml (the
 * result of another html`` or trustedHtml()). Arrays are joined; null, undefined and false print
 * nothing.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += htmlPart(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

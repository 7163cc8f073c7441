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
 * Inline Markdown text: Markdown syntax characters get a backslash, HTML specials become entities
 * (GitHub renders raw HTML), and line breaks become spaces so a value cannot open a new block
 * (a heading, a list, a table row).
 */
export function escapeMarkdown(value: unknown): string {
  return asText(value)
    .replace(/\r\n?|\n/g, ' ')
    .replace(/[\\`*_{}[\]()#+\-.!|~]/g, (c) => `\\${c}`)
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Keeps ids used in element ids, class names and file names to `[a-z0-9-]`. */
export function slug(value: string): string {
  const s = value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s || 'x';
}

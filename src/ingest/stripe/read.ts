import type { RejectedRecord } from '../report.js';
import { invalidUtf8Lines } from '../validate.js';

/** One JSON value read from a Stripe file, with where it was (1-based line or record index). */
export interface StripeRecord {
  line: number;
  value: unknown;
  /** The record's text, verbatim, for the rejects file. */
  text: string | Buffer;
}

/** A record that could not be read, with its text for the rejects file. */
export interface UnreadableRecord extends RejectedRecord {
  text: string | Buffer;
}

/**
 * Splits a Stripe file into records (SPEC §3.2): a list object `{"object":"list","data":[…]}`, a
 * JSON array, a single object, Stripe's OpenAPI fixture file `{"resources":{type: object}}`, or
 * JSON Lines. A whole-file JSON document numbers its records by index (1-based); JSON Lines by line.
 *
 * Nothing good is lost to a bad neighbour: a JSON Lines line that is not valid UTF-8 or not JSON
 * is rejected alone; a JSON array or list object that is cut short (or broken inside) keeps every
 * element before the break, and the rest is rejected as one record. In a whole-file document
 * that is not valid UTF-8, the records holding an undecodable byte (U+FFFD) are rejected.
 */
export function readStripeRecords(bytes: Buffer): { records: StripeRecord[]; rejected: UnreadableRecord[] } {
  const badLines = invalidUtf8Lines(bytes);
  const text = bytes.toString('utf8');
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed === '') return { records: [], rejected: [] };
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const whole = wholeDocument(trimmed, badLines.size > 0);
    if (whole) return whole;
  }
  const records: StripeRecord[] = [];
  const rejected: UnreadableRecord[] = [];
  const lines = splitLines(bytes);
  lines.forEach((lineBytes, i) => {
    const line = i + 1;
    if (badLines.has(line)) {
      rejected.push({ line, reason: 'not valid UTF-8', text: lineBytes });
      return;
    }
    const lineText = lineBytes.toString('utf8').replace(/^\uFEFF/, '');
    if (lineText.trim() === '') return;
    try {
      for (const value of unwrap(JSON.parse(lineText))) records.push({ line, value, text: lineText });
    } catch (e) {
      rejected.push({ line, reason: `invalid JSON: ${(e as Error).message}`, text: lineBytes });
    }
  });
  return { records, rejected };
}

/** The file's lines (split on `\n`, a `\r` before it dropped), as bytes. */
function splitLines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    let line = bytes.subarray(start, end);
    if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
    out.push(line);
    start = end + 1;
  }
  return out;
}

/**
 * A file holding one JSON document: its records, or null when it is not one document (JSON
 * Lines of objects, or a broken document that is not an array or list object).
 */
function wholeDocument(
  trimmed: string,
  mangled: boolean,
): { records: StripeRecord[]; rejected: UnreadableRecord[] } | null {
  const records: StripeRecord[] = [];
  const rejected: UnreadableRecord[] = [];
  const take = (value: unknown, index: number, text: string): void => {
    if (mangled && text.includes('\uFFFD')) rejected.push({ line: index, reason: 'not valid UTF-8', text });
    else records.push({ line: index, value, text });
  };
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    // Not one document: an array or list object cut short keeps its complete elements.
    const start = trimmed.startsWith('[') ? 0 : listDataStart(trimmed);
    if (start === -1) return null;
    const { items, tail, end } = arrayElements(trimmed, start);
    // Complete, with more after it: JSON Lines whose first line is an array or list.
    if (tail === undefined && (start !== 0 || trimmed.slice(end + 1).trim() !== '')) return null;
    let index = 0;
    for (const item of items) {
      index++;
      try {
        take(JSON.parse(item), index, item);
      } catch (e) {
        rejected.push({ line: index, reason: `invalid JSON: ${(e as Error).message}`, text: item });
      }
    }
    if (tail !== undefined) {
      rejected.push({
        line: index + 1,
        reason: `the JSON ${start === 0 ? 'array' : 'list'} is cut short or broken here: the rest of the file cannot be read`,
        text: tail,
      });
    }
    return { records, rejected };
  }
  unwrap(whole).forEach((value, i) => take(value, i + 1, JSON.stringify(value)));
  return { records, rejected };
}

/** Where the `data` array of a Stripe list object starts (`{"object":"list","data":[`), else -1. */
function listDataStart(text: string): number {
  const m = /^\{\s*(?:"object"\s*:\s*"list"\s*,\s*)?"data"\s*:\s*\[/.exec(text);
  return m ? m[0].length - 1 : -1;
}

/**
 * The texts of the elements of the JSON array whose `[` is at `start`, up to its `]`, or up to
 * where the text is cut or broken (`tail`: the text from the first element that cannot be
 * delimited). Strings and nesting are tracked; values are not parsed here.
 */
export function arrayElements(text: string, start: number): { items: string[]; tail?: string; end: number } {
  const items: string[] = [];
  let i = start + 1;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  ws();
  if (text[i] === ']') return { items, end: i };
  for (;;) {
    ws();
    const from = i;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
    }
    if (i >= text.length || text[i] === '}') return { items, tail: text.slice(from), end: i };
    const item = text.slice(from, i).trim();
    if (item === '') return { items, tail: text.slice(from), end: i };
    items.push(item);
    if (text[i] === ']') return { items, end: i };
    i++;
  }
}

function unwrap(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.object === 'list' && Array.isArray(o.data)) return o.data;
    if (o.object === undefined && o.resources !== null && typeof o.resources === 'object') {
      return Object.values(o.resources as Record<string, unknown>);
    }
  }
  return [v];
}

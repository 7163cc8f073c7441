import type { RejectedRecord } from '../report.js';

/** One JSON value read from a Stripe file, with where it was (1-based line or record index). */
export interface StripeRecord {
  line: number;
  value: unknown;
  /** The record's text, verbatim, for the rejects file. */
  text: string;
}

/**
 * Splits a Stripe file into records (SPEC §3.2): a list object `{"object":"list","data":[…]}`, a
 * JSON array, a single object, Stripe's OpenAPI fixture file `{"resources":{type: object}}`, or
 * JSON Lines. A whole-file JSON document numbers its records by index (1-based); JSON Lines by line.
 */
export function readStripeRecords(text: string): {
  records: StripeRecord[];
  rejected: RejectedRecord[];
  rejectedText: string[];
} {
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed === '') return { records: [], rejected: [], rejectedText: [] };
  let whole: unknown;
  let parsedWhole = false;
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      whole = JSON.parse(trimmed);
      parsedWhole = true;
    } catch {
      parsedWhole = false;
    }
  }
  if (parsedWhole) {
    const items = unwrap(whole);
    return {
      records: items.map((value, i) => ({ line: i + 1, value, text: JSON.stringify(value) })),
      rejected: [],
      rejectedText: [],
    };
  }
  if (trimmed.startsWith('[')) {
    return {
      records: [],
      rejected: [{ line: 1, reason: 'truncated or invalid JSON array' }],
      rejectedText: [body],
    };
  }
  const records: StripeRecord[] = [];
  const rejected: RejectedRecord[] = [];
  const rejectedText: string[] = [];
  body.split(/\r?\n/).forEach((lineText, i) => {
    if (lineText.trim() === '') return;
    try {
      for (const value of unwrap(JSON.parse(lineText))) records.push({ line: i + 1, value, text: lineText });
    } catch (e) {
      rejected.push({ line: i + 1, reason: `invalid JSON: ${(e as Error).message}` });
      rejectedText.push(lineText);
    }
  });
  return { records, rejected, rejectedText };
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

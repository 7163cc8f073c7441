/**
 * What kind of data a file holds, from its first bytes, so that a file given to the wrong
 * `sextant import` subcommand is one clear error ("this looks like a Stripe export; `sextant
 * import stripe`") instead of thousands of per-line rejects. Only a clear verdict is given:
 * `unknown` lets the importer read the file and report what it finds.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { InputError } from '../errors.js';
import { arrayElements } from './stripe/read.js';
import { SUBSCRIPTION_COLUMNS } from './subscriptions/import.js';

export type ImportKind = 'events' | 'stripe' | 'subscriptions' | 'feedback';

export interface Sniffed {
  /** The importer this file is for; `csv`: a CSV none of them reads; `unknown`: cannot tell. */
  kind: ImportKind | 'csv' | 'unknown';
  /** What the file is, in words, for the message. */
  what: string;
  /** For CSV files: the header's columns (lower-cased). */
  columns?: string[];
}

const HEAD_BYTES = 256 * 1024;

const STRIPE_TYPES = new Set([
  'customer',
  'subscription',
  'invoice',
  'event',
  'product',
  'price',
  'plan',
  'coupon',
  'credit_note',
  'charge',
  'refund',
  'invoiceitem',
  'line_item',
  'subscription_item',
  'subscription_schedule',
  'payment_intent',
  'balance_transaction',
  'list',
]);

/** The first bytes of `file`, unzipped when it is gzip (as much as they give). */
async function head(file: string): Promise<Buffer> {
  const fd = openSync(file, 'r');
  let buf: Buffer;
  try {
    buf = Buffer.alloc(Math.min(HEAD_BYTES, statSync(file).size));
    const n = readSync(fd, buf, 0, buf.length, 0);
    buf = buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
  if (buf.length < 2 || buf[0] !== 0x1f || buf[1] !== 0x8b) return buf;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const g = createGunzip();
    const done = (): void => resolve(Buffer.concat(chunks));
    g.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= HEAD_BYTES) {
        g.removeAllListeners();
        g.destroy();
        done();
      }
    });
    g.on('error', done);
    g.on('end', done);
    g.end(buf);
  });
}

/** What `file` holds; `unknown` when it cannot be read or told. */
export async function sniffFile(file: string): Promise<Sniffed> {
  let bytes: Buffer;
  try {
    if (statSync(file).isDirectory()) return { kind: 'unknown', what: 'a directory' };
    bytes = await head(file);
  } catch {
    return { kind: 'unknown', what: 'an unreadable file' };
  }
  if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return { kind: 'events', what: 'a Parquet file' };
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const start = text.trimStart();
  if (start === '') return { kind: 'unknown', what: 'an empty file' };
  if (start[0] === '{' || start[0] === '[') return sniffJson(start);
  return sniffCsv(start);
}

function sniffJson(text: string): Sniffed {
  const values: unknown[] = [];
  if (text[0] === '[') {
    for (const item of arrayElements(text, 0).items.slice(0, 20)) values.push(tryParse(item));
  } else {
    const lines = text.split('\n').slice(0, 20);
    for (const l of lines) if (l.trim()) values.push(tryParse(l));
    // One pretty-printed object: its first complete value.
    if (!values.some((v) => v !== undefined)) {
      const { items } = arrayElements('[' + text + ']', 0);
      if (items[0]) values.splice(0, values.length, tryParse(items[0]));
    }
  }
  const kinds = values.filter((v) => v !== undefined).map(jsonKind);
  const first = kinds[0];
  if (!first || first === 'unknown' || kinds.some((k) => k !== first))
    return { kind: 'unknown', what: 'JSON' };
  return { kind: first, what: WHAT_JSON[first] };
}

const WHAT_JSON: Record<ImportKind, string> = {
  stripe: 'a Stripe export (objects with a Stripe `object` type)',
  events: 'PostHog events (`event`, `distinct_id`, `timestamp`)',
  feedback: 'feedback records (`id`, `kind`, `created_at`)',
  subscriptions: 'subscription rows',
};

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

function jsonKind(v: unknown): ImportKind | 'unknown' {
  if (Array.isArray(v)) return v.length ? jsonKind(v[0]) : 'unknown';
  if (v === null || typeof v !== 'object') return 'unknown';
  const o = v as Record<string, unknown>;
  if (typeof o.object === 'string' && STRIPE_TYPES.has(o.object)) return 'stripe';
  if (o.object === undefined && o.resources !== null && typeof o.resources === 'object') return 'stripe';
  if (Array.isArray(o.batch) || typeof o.api_key === 'string') return 'events';
  if (typeof o.event === 'string' && ('distinct_id' in o || 'properties' in o || 'timestamp' in o)) {
    return 'events';
  }
  if ('kind' in o && 'created_at' in o && 'id' in o) return 'feedback';
  if (SUBSCRIPTION_COLUMNS.every((c) => c === 'end' || c in o)) return 'subscriptions';
  return 'unknown';
}

function sniffCsv(text: string): Sniffed {
  const firstLine = text.split(/\r?\n/)[0] ?? '';
  if (!/[,;\t]/.test(firstLine)) return { kind: 'unknown', what: 'text' };
  let columns: string[];
  try {
    const rows: string[][] = parse(firstLine, { relax_quotes: true, relax_column_count: true });
    columns = (rows[0] ?? []).map((c) => c.trim().toLowerCase());
  } catch {
    return { kind: 'unknown', what: 'text' };
  }
  const has = (...cs: string[]): boolean => cs.every((c) => columns.includes(c));
  const shown = columns.slice(0, 6).join(', ') + (columns.length > 6 ? ', …' : '');
  if (has('customer_id', 'amount', 'interval')) {
    return { kind: 'subscriptions', what: 'a subscription CSV', columns };
  }
  if (has('id', 'kind', 'created_at')) return { kind: 'feedback', what: 'a feedback CSV', columns };
  if (has('event', 'distinct_id')) return { kind: 'events', what: 'an events CSV', columns };
  return { kind: 'csv', what: `a CSV file (columns ${shown})`, columns };
}

const COMMAND: Record<ImportKind, string> = {
  events: 'sextant import events',
  stripe: 'sextant import stripe',
  subscriptions: 'sextant import subscriptions',
  feedback: 'sextant import feedback',
};

/**
 * Throws an InputError naming the right subcommand when `file` clearly holds another kind of data
 * than `expected`; returns what was sniffed otherwise.
 */
export async function checkKind(file: string, expected: ImportKind): Promise<Sniffed> {
  const s = await sniffFile(file);
  if (s.kind === expected || s.kind === 'unknown') return s;
  if (s.kind === 'csv') {
    const hint =
      expected === 'subscriptions'
        ? `a subscription CSV needs the columns ${SUBSCRIPTION_COLUMNS.join(',')}`
        : expected === 'feedback'
          ? 'a feedback CSV needs the columns id, kind, created_at'
          : 'is it for `sextant import subscriptions` or `sextant import feedback`? (see their --help for the columns)';
    throw new InputError(`this is ${s.what}, not ${WANT[expected]}: ${hint}`, { file });
  }
  throw new InputError(`this looks like ${s.what}, not ${WANT[expected]}: use \`${COMMAND[s.kind]}\``, {
    file,
  });
}

const WANT: Record<ImportKind, string> = {
  events: 'PostHog events',
  stripe: 'Stripe objects',
  subscriptions: 'a subscription CSV',
  feedback: 'feedback',
};

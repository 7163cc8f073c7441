/**
 * Feedback files (SPEC §3.3) → validated `Feedback` rows and rejected records. No SQL here.
 *
 * Formats: CSV with a header row, or JSON Lines (one object per line; a JSON array is accepted
 * too). Columns/keys: id, kind, created_at, and optionally distinct_id, email, organization,
 * score, title, body, tags, status, closed_at. Unknown columns are ignored (exports carry extras).
 * In CSV, an empty cell is absent; `tags` is a JSON array or a `;`/`,`-separated list.
 * Timestamps are ISO 8601 (`T` or a space; without zone = UTC). An `nps` row needs a score that
 * is a whole number 0–10. `kind` and `status` are trimmed and lower-cased; free text (title, body)
 * is kept exactly as given.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { FEEDBACK_KINDS, type Feedback, type FeedbackKind } from '../../domain/feedback.js';
import type { RejectedRecord } from '../report.js';

export type FeedbackFormat = 'csv' | 'jsonl';

export interface RejectedLine extends RejectedRecord {
  /** The record's text, verbatim, for the rejects file. */
  raw: string;
}

export interface ParsedFeedback {
  rows: Array<Feedback & { line: number }>;
  rejected: RejectedLine[];
  /** Records read, good and bad. */
  records: number;
  /** CSV only: the header line, written first in the rejects file so it re-imports. */
  header?: string;
}

class BadField extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(reason);
  }
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** An ISO 8601 timestamp (date, or date and time; no zone = UTC) as a Date, else null. */
export function parseIsoTimestamp(s: string): Date | null {
  const m = ISO_RE.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  const ms = frac ? Math.floor(Number('0' + frac) * 1000) : 0;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms);
  const check = new Date(utc);
  // Reject 2024-02-30 and 25:00 rather than letting Date roll them over.
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(sec) > 59
  ) {
    return null;
  }
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  return new Date(utc - offsetMinutes * 60_000);
}

function text(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new BadField(field, `expected a string, got ${Array.isArray(v) ? 'an array' : typeof v}`);
}

function required(v: unknown, field: string): string {
  const s = text(v, field);
  if (s === null || s.trim() === '') throw new BadField(field, 'missing');
  return s;
}

function timestamp(v: unknown, field: string): Date | null {
  const s = text(v, field);
  if (s === null) return null;
  const d = parseIsoTimestamp(s);
  if (!d) throw new BadField(field, `not an ISO 8601 timestamp: ${JSON.stringify(s.slice(0, 40))}`);
  return d;
}

function score(v: unknown, kind: FeedbackKind): number | null {
  let n: number | null = null;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && v.trim() !== '') n = Number(v.trim());
  else if (v !== undefined && v !== null && v !== '') throw new BadField('score', 'expected a number');
  if (n !== null && !Number.isFinite(n)) throw new BadField('score', `not a number: ${JSON.stringify(v)}`);
  if (kind === 'nps') {
    if (n === null) throw new BadField('score', 'an nps answer needs a score 0–10');
    if (!Number.isInteger(n) || n < 0 || n > 10)
      throw new BadField('score', `an nps score is a whole number 0–10, got ${n}`);
  }
  return n;
}

function tags(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  let list: unknown = v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        list = JSON.parse(s);
      } catch {
        throw new BadField('tags', 'starts with "[" but is not a JSON array');
      }
    } else {
      list = s.split(/[;,]/);
    }
  }
  if (!Array.isArray(list)) throw new BadField('tags', 'expected an array or a ;/,-separated string');
  const out: string[] = [];
  for (const t of list) {
    if (typeof t !== 'string' && typeof t !== 'number') throw new BadField('tags', 'a tag must be a string');
    const s = String(t).trim();
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  return out;
}

/** One record (keys already lower-cased) → a Feedback row; throws BadField. */
export function toFeedback(rec: Record<string, unknown>): Feedback {
  const id = required(rec.id, 'id').trim();
  const kindText = required(rec.kind, 'kind').trim().toLowerCase();
  if (!(FEEDBACK_KINDS as readonly string[]).includes(kindText)) {
    throw new BadField(
      'kind',
      `must be one of ${FEEDBACK_KINDS.join(', ')}, got ${JSON.stringify(kindText.slice(0, 40))}`,
    );
  }
  const kind = kindText as FeedbackKind;
  const createdAt = timestamp(rec.created_at, 'created_at');
  if (!createdAt) throw new BadField('created_at', 'missing');
  return {
    id,
    kind,
    createdAt,
    distinctId: text(rec.distinct_id, 'distinct_id'),
    email: text(rec.email, 'email'),
    organization: text(rec.organization, 'organization'),
    score: score(rec.score, kind),
    title: text(rec.title, 'title'),
    body: text(rec.body, 'body'),
    tags: tags(rec.tags),
    status: text(rec.status, 'status')?.trim().toLowerCase() ?? null,
    closedAt: timestamp(rec.closed_at, 'closed_at'),
  };
}

function lowerKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k.trim().toLowerCase()] = v;
  return out;
}

export function detectFormat(file: string): FeedbackFormat {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  return name.endsWith('.csv') ? 'csv' : 'jsonl';
}

/**
 * Parses a whole feedback file. `utf8Valid` false means the bytes were not valid UTF-8: records
 * holding the replacement character are rejected rather than stored mangled.
 */
export function parseFeedback(content: string, format: FeedbackFormat, utf8Valid = true): ParsedFeedback {
  const out: ParsedFeedback = { rows: [], rejected: [], records: 0 };
  const take = (rec: Record<string, unknown>, line: number, raw: string): void => {
    out.records++;
    if (!utf8Valid && raw.includes('\uFFFD')) {
      out.rejected.push({ line, reason: 'not valid UTF-8', raw });
      return;
    }
    try {
      out.rows.push({ ...toFeedback(lowerKeys(rec)), line });
    } catch (e) {
      if (!(e instanceof BadField)) throw e;
      out.rejected.push({ line, field: e.field, reason: e.message, raw });
    }
  };
  if (format === 'csv') parseCsvRecords(content, out, take);
  else parseJsonRecords(content, out, take);
  return out;
}

type Take = (rec: Record<string, unknown>, line: number, raw: string) => void;

function parseJsonRecords(content: string, out: ParsedFeedback, take: Take): void {
  const trimmed = content.trimStart();
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch (e) {
      out.records++;
      out.rejected.push({ line: 1, reason: `invalid JSON array: ${(e as Error).message}`, raw: content });
      return;
    }
    (list as unknown[]).forEach((rec, i) => {
      const raw = JSON.stringify(rec);
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
        out.records++;
        out.rejected.push({ line: i + 1, reason: 'expected a JSON object', raw });
      } else take(rec as Record<string, unknown>, i + 1, raw);
    });
    return;
  }
  const lines = content.split('\n');
  lines.forEach((rawLine, i) => {
    const raw = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (raw.trim() === '') return;
    let rec: unknown;
    try {
      rec = JSON.parse(raw);
    } catch (e) {
      out.records++;
      out.rejected.push({ line: i + 1, reason: `invalid JSON: ${(e as Error).message}`, raw });
      return;
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      out.records++;
      out.rejected.push({ line: i + 1, reason: 'expected a JSON object', raw });
      return;
    }
    take(rec as Record<string, unknown>, i + 1, raw);
  });
}

interface CsvRow {
  record: string[];
  raw: string;
  info: { lines: number };
}

function parseCsvRecords(content: string, out: ParsedFeedback, take: Take): void {
  let rows: CsvRow[];
  const skipped: RejectedLine[] = [];
  try {
    rows = parseCsv(content, {
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err, raw) => {
        skipped.push({
          line: (err as { lines?: number } | undefined)?.lines ?? 0,
          reason: `malformed CSV: ${err?.message ?? 'unreadable record'}`,
          raw: raw ?? '',
        });
      },
    }) as unknown as CsvRow[];
  } catch (e) {
    // Unrecoverable (e.g. a quote left open to the end of the file): report where it starts.
    const err = e as Error & { lines?: number };
    out.records++;
    out.rejected.push({ line: err.lines ?? 1, reason: `malformed CSV: ${err.message}`, raw: '' });
    return;
  }
  const [head, ...body] = rows;
  if (!head) return;
  const columns = head.record.map((c) => c.trim().toLowerCase());
  out.header = head.raw.replace(/\r?\n$/, '');
  for (const col of ['id', 'kind', 'created_at']) {
    if (!columns.includes(col)) {
      throw new BadHeader(col);
    }
  }
  for (const row of body) {
    const raw = row.raw.replace(/\r?\n$/, '');
    // info.lines is the line the record ends on; a quoted field may span several lines.
    const line = row.info.lines - (raw.match(/\n/g)?.length ?? 0);
    if (row.record.length !== columns.length) {
      out.records++;
      out.rejected.push({
        line,
        reason: `has ${row.record.length} columns, the header has ${columns.length}`,
        raw,
      });
      continue;
    }
    const rec: Record<string, unknown> = {};
    columns.forEach((c, i) => (rec[c] = row.record[i]));
    take(rec, line, raw);
  }
  out.records += skipped.length;
  out.rejected.push(...skipped);
  out.rejected.sort((a, b) => a.line - b.line);
}

/** A CSV without one of the required columns: nothing in it can be read. */
export class BadHeader extends Error {
  constructor(readonly column: string) {
    super(`the header has no '${column}' column (need id, kind, created_at)`);
  }
}

/**
 * Feedback files (SPEC §3.3) → validated `Feedback` rows and rejected records. No SQL here.
 *
 * Formats: CSV with a header row, or JSON Lines (one object per line; a JSON array is accepted
 * too). Columns/keys: id, kind, created_at, and optionally distinct_id, email, organization,
 * score, title, body, tags, status, closed_at. Unknown columns are ignored (exports carry extras).
 * In CSV, an empty cell is absent; `tags` is a JSON array or a `;`/`,`-separated list.
 * Timestamps are ISO 8601 (`T` or a space; without zone = UTC), or in the `--date-format`
 * named; real calendar dates from 1970 to 2099 (validate.ts). An `nps` row needs a score that is
 * a whole number 0–10. `kind` and `status` are trimmed and lower-cased; free text (title, body)
 * is kept exactly as given.
 */
import { FEEDBACK_KINDS, type Feedback, type FeedbackKind } from '../../domain/feedback.js';
import { readCsv } from '../csv.js';
import type { RejectedRecord } from '../report.js';
import { FieldError, invalidUtf8Lines, ISO_DATES, parseDate, shown, type DateFormat } from '../validate.js';

export type FeedbackFormat = 'csv' | 'jsonl';

export interface RejectedLine extends RejectedRecord {
  /** The record's bytes or text, verbatim, for the rejects file. */
  raw: string | Buffer;
}

export interface ParsedFeedback {
  rows: Array<Feedback & { line: number }>;
  rejected: RejectedLine[];
  /** Records read, good and bad. */
  records: number;
  /** CSV only: the header line, written first in the rejects file so it re-imports. */
  header?: Buffer;
}

/** Scores outside ±10^9 are not feedback scores (NPS is 0–10, CSAT 1–5, ratings 1–10…). */
const MAX_SCORE = 1e9;

function text(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new FieldError(field, `expected a string, got ${Array.isArray(v) ? 'an array' : typeof v}`);
}

function required(v: unknown, field: string): string {
  const s = text(v, field);
  if (s === null || s.trim() === '') throw new FieldError(field, 'missing');
  return s;
}

function timestamp(v: unknown, field: string, dates: DateFormat): Date | null {
  const s = text(v, field);
  if (s === null) return null;
  const d = parseDate(s, dates);
  if (typeof d === 'string') throw new FieldError(field, d);
  return d;
}

function score(v: unknown, kind: FeedbackKind): number | null {
  let n: number | null = null;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && v.trim() !== '') n = Number(v.trim());
  else if (v !== undefined && v !== null && v !== '') throw new FieldError('score', 'expected a number');
  if (n !== null && !Number.isFinite(n)) throw new FieldError('score', `not a number: ${shown(v)}`);
  if (n !== null && Math.abs(n) > MAX_SCORE) throw new FieldError('score', `out of range: ${shown(v)}`);
  if (kind === 'nps') {
    if (n === null) throw new FieldError('score', 'an nps answer needs a score 0–10');
    if (!Number.isInteger(n) || n < 0 || n > 10)
      throw new FieldError('score', `an nps score is a whole number 0–10, got ${n}`);
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
        throw new FieldError('tags', 'starts with "[" but is not a JSON array');
      }
    } else {
      list = s.split(/[;,]/);
    }
  }
  if (!Array.isArray(list)) throw new FieldError('tags', 'expected an array or a ;/,-separated string');
  const out: string[] = [];
  for (const t of list) {
    if (typeof t !== 'string' && typeof t !== 'number')
      throw new FieldError('tags', 'a tag must be a string');
    const s = String(t).trim();
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  return out;
}

/** One record (keys already lower-cased) → a Feedback row; throws FieldError. */
export function toFeedback(rec: Record<string, unknown>, dates: DateFormat = ISO_DATES): Feedback {
  const id = required(rec.id, 'id').trim();
  const kindText = required(rec.kind, 'kind').trim().toLowerCase();
  if (!(FEEDBACK_KINDS as readonly string[]).includes(kindText)) {
    throw new FieldError(
      'kind',
      `must be one of ${FEEDBACK_KINDS.join(', ')}, got ${JSON.stringify(kindText.slice(0, 40))}`,
    );
  }
  const kind = kindText as FeedbackKind;
  const createdAt = timestamp(rec.created_at, 'created_at', dates);
  if (!createdAt) throw new FieldError('created_at', 'missing');
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
    closedAt: timestamp(rec.closed_at, 'closed_at', dates),
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
 * Parses a whole feedback file's bytes. Records holding bytes that are not UTF-8 are rejected
 * rather than stored mangled. Throws BadHeader when a CSV lacks a required column.
 */
export function parseFeedback(
  bytes: Buffer,
  format: FeedbackFormat,
  dates: DateFormat = ISO_DATES,
): ParsedFeedback {
  const out: ParsedFeedback = { rows: [], rejected: [], records: 0 };
  const take = (rec: Record<string, unknown>, line: number, raw: string | Buffer): void => {
    out.records++;
    try {
      out.rows.push({ ...toFeedback(lowerKeys(rec), dates), line });
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      out.rejected.push({ line, field: e.field, reason: e.message, raw });
    }
  };
  if (format === 'csv') {
    const csv = readCsv(bytes);
    if (csv.columns.length) {
      for (const col of ['id', 'kind', 'created_at'])
        if (!csv.columns.includes(col)) throw new BadHeader(col);
    }
    out.header = csv.header;
    for (const r of csv.records) take(r.cells, r.line, r.raw);
    out.records += csv.rejected.length;
    out.rejected.push(...csv.rejected);
  } else parseJsonRecords(bytes, out, take);
  out.rejected.sort((a, b) => a.line - b.line);
  return out;
}

type Take = (rec: Record<string, unknown>, line: number, raw: string | Buffer) => void;

function parseJsonRecords(bytes: Buffer, out: ParsedFeedback, take: Take): void {
  const badLines = invalidUtf8Lines(bytes);
  const content = bytes.toString('utf8');
  const trimmed = content.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch (e) {
      out.records++;
      out.rejected.push({ line: 1, reason: `invalid JSON array: ${(e as Error).message}`, raw: bytes });
      return;
    }
    (list as unknown[]).forEach((rec, i) => {
      const raw = JSON.stringify(rec);
      if (badLines.size && raw.includes('\uFFFD')) {
        out.records++;
        out.rejected.push({ line: i + 1, reason: 'not valid UTF-8', raw });
      } else if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
        out.records++;
        out.rejected.push({ line: i + 1, reason: 'expected a JSON object', raw });
      } else take(rec as Record<string, unknown>, i + 1, raw);
    });
    return;
  }
  let start = 0;
  for (let line = 1; start < bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    let lineBytes = bytes.subarray(start, end);
    start = end + 1;
    if (lineBytes.at(-1) === 0x0d) lineBytes = lineBytes.subarray(0, -1);
    if (badLines.has(line)) {
      out.records++;
      out.rejected.push({ line, reason: 'not valid UTF-8', raw: lineBytes });
      continue;
    }
    const raw = lineBytes.toString('utf8').replace(/^\uFEFF/, '');
    if (raw.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(raw);
    } catch (e) {
      out.records++;
      out.rejected.push({ line, reason: `invalid JSON: ${(e as Error).message}`, raw: lineBytes });
      continue;
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      out.records++;
      out.rejected.push({ line, reason: 'expected a JSON object', raw: lineBytes });
      continue;
    }
    take(rec as Record<string, unknown>, line, lineBytes);
  }
}

/** A CSV without one of the required columns: nothing in it can be read. */
export class BadHeader extends Error {
  constructor(readonly column: string) {
    super(`the header has no '${column}' column (need id, kind, created_at)`);
  }
}

/**
 * CSV files of the subscription and feedback importers (csv-parse), read so that every record is
 * accounted for: a record is rejected alone when it holds bytes that are not UTF-8, when
 * csv-parse cannot read it, or when it has more or fewer cells than the header; a quote left
 * open to the end of the file rejects the rest of the file as one record. Line numbers are the
 * physical line a record starts on (the header is line 1).
 */
import { CsvError, parse } from 'csv-parse/sync';
import type { RejectedRecord } from './report.js';
import { invalidUtf8Lines, lineStarts, linesOf } from './validate.js';

export interface CsvRecord {
  /** First physical line (1-based). */
  line: number;
  /** Cells by lower-cased, trimmed header name. */
  cells: Record<string, string>;
  /** The record's bytes, verbatim. */
  raw: Buffer;
}

export interface CsvRejected extends RejectedRecord {
  raw: Buffer;
}

export interface CsvFile {
  /** Lower-cased, trimmed column names. */
  columns: string[];
  /** The header line's bytes, for the rejects file. */
  header: Buffer;
  records: CsvRecord[];
  rejected: CsvRejected[];
}

interface Parsed {
  record: string[];
  /** First and last physical line. */
  line: number;
  to: number;
}

const newlines = (s: string): number => {
  let k = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) k++;
  return k;
};

/** The 1-based physical line holding byte `pos` (`starts`: lineStarts of the file). */
function lineOf(starts: readonly number[], pos: number): number {
  let lo = 1;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? Infinity) <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A record's text without the blank lines csv-parse skipped before it and its line break. */
const recordText = (raw: string): string => raw.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, '');

/** Reads a CSV file's bytes; an empty file has no columns and no records. */
export function readCsv(bytes: Buffer): CsvFile {
  const starts = lineStarts(bytes);
  const badLines = invalidUtf8Lines(bytes);
  const blank = (l: number): boolean => linesOf(bytes, starts, l, l).toString('latin1').trim() === '';
  const lastLine = (() => {
    let l = starts.length - 1;
    while (l > 1 && blank(l)) l--;
    return l;
  })();
  const nextNonBlank = (l: number): number => {
    while (l < lastLine && blank(l)) l++;
    return l;
  };
  // Where each record lies, in physical lines (csv-parse's own line count takes a CR inside a
  // quoted cell for a line break): a record ends at the byte `info.bytes` says; a skipped record
  // holds the byte its error names and ends where the next record starts.
  const rows: Parsed[] = [];
  const skipped: { line: number; reason: string; at: number }[] = [];
  const events: { line: number; to: number; skip?: number }[] = [];
  try {
    parse(bytes, {
      bom: true,
      raw: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // With `raw` and `info`, a record comes as { record, raw, info }.
      on_record: (r) => {
        const { record, raw, info } = r as unknown as {
          record: string[];
          raw: string;
          info: { bytes: number };
        };
        let last = info.bytes - 1;
        while (last > 0 && (bytes[last] === 0x0a || bytes[last] === 0x0d) && /\r?\n$/.test(raw)) {
          last--;
          if (bytes[last + 1] === 0x0a) break;
        }
        if (bytes[last] === 0x0d) last--;
        const to = lineOf(starts, Math.max(0, last));
        const line = to - newlines(recordText(raw));
        rows.push({ record, line, to });
        events.push({ line, to });
        return null;
      },
      on_skip: (err, raw) => {
        let at = lineOf(starts, (err as { bytes?: number } | undefined)?.bytes ?? 0);
        const prev = events.at(-1)?.to ?? 0;
        // The error's byte can lag behind (csv-parse updates it per cell): never before the end
        // of what came before.
        const line = Math.max(nextNonBlank(prev + 1), at - newlines(recordText(raw ?? '')));
        at = Math.max(at, line);
        skipped.push({ line, reason: `malformed CSV: ${err?.message ?? 'unreadable record'}`, at });
        events.push({ line, to: at, skip: skipped.length - 1 });
      },
    });
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    // Unrecoverable (a quote left open to the end): what was read stays; the rest is one record.
    const line = nextNonBlank((events.at(-1)?.to ?? 0) + 1);
    events.push({ line, to: lastLine, skip: skipped.length });
    skipped.push({
      line,
      reason: `malformed CSV: ${(e as Error).message} (the rest of the file, from here, cannot be read)`,
      at: line,
    });
  }
  const rejected: CsvRejected[] = [];
  events.forEach((ev, i) => {
    if (ev.skip === undefined) return;
    const next = events[i + 1]?.line ?? lastLine + 1;
    let to = Math.max(ev.to, next - 1);
    while (to > ev.line && blank(to)) to--;
    const s = skipped[ev.skip]!;
    rejected.push({ line: s.line, reason: s.reason, raw: linesOf(bytes, starts, s.line, to) });
  });
  const [head, ...body] = rows;
  if (!head) return { columns: [], header: Buffer.alloc(0), records: [], rejected };
  const columns = head.record.map((c) =>
    c
      .replace(/^\uFEFF/, '')
      .trim()
      .toLowerCase(),
  );
  const header = linesOf(bytes, starts, head.line, head.to);
  const records: CsvRecord[] = [];
  for (const row of body) {
    const { line, to } = row;
    const raw = linesOf(bytes, starts, line, to);
    let bad = false;
    for (let l = line; l <= to && !bad; l++) bad = badLines.has(l);
    if (bad) {
      rejected.push({ line, reason: 'not valid UTF-8', raw });
      continue;
    }
    if (row.record.length !== columns.length) {
      rejected.push({
        line,
        reason: `has ${row.record.length} columns, the header has ${columns.length}`,
        raw,
      });
      continue;
    }
    const cells: Record<string, string> = {};
    columns.forEach((c, i) => (cells[c] = row.record[i] ?? ''));
    records.push({ line, cells, raw });
  }
  rejected.sort((a, b) => a.line - b.line);
  return { columns, header, records, rejected };
}

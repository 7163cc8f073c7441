/**
 * CSV files of the subscription and feedback importers (csv-parse), read so that every record is
 * accounted for: a record is rejected alone when it holds bytes that are not UTF-8, when
 * csv-parse cannot read it, or when it has more or fewer cells than the header; a quote left
 * open to the end of the file rejects the rest of the file as one record. Line numbers are the
 * physical line a record starts on (the header is line 1).
 */
import { parse } from 'csv-parse';
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
  info: { lines: number };
  raw: string;
}

/** Reads a CSV file's bytes; an empty file has no columns and no records. */
export async function readCsv(bytes: Buffer): Promise<CsvFile> {
  const starts = lineStarts(bytes);
  const badLines = invalidUtf8Lines(bytes);
  const rejected: CsvRejected[] = [];
  const rows: Parsed[] = [];
  const failure = await new Promise<(Error & { lines?: number }) | undefined>((resolve) => {
    const parser = parse({
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err, raw) => {
        const end = (err as { lines?: number } | undefined)?.lines ?? 1;
        const from = end - ((raw ?? '').replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0);
        rejected.push({
          line: from,
          reason: `malformed CSV: ${err?.message ?? 'unreadable record'}`,
          raw: linesOf(bytes, starts, from, end),
        });
      },
    });
    parser.on('readable', () => {
      for (let r = parser.read() as Parsed | null; r !== null; r = parser.read() as Parsed | null)
        rows.push(r);
    });
    parser.on('error', (e) => resolve(e));
    parser.on('end', () => resolve(undefined));
    parser.end(bytes);
  });
  if (failure) {
    // Unrecoverable (a quote left open to the end): what was read stays; the rest is one record.
    const line = firstNonEmptyLineAfter(bytes, starts, rows.at(-1)?.info.lines ?? 0);
    rejected.push({
      line,
      reason: `malformed CSV: ${failure.message} (the rest of the file, from here, cannot be read)`,
      raw: linesOf(bytes, starts, line, starts.length - 1),
    });
  }
  const [head, ...body] = rows;
  if (!head) return { columns: [], header: Buffer.alloc(0), records: [], rejected };
  const columns = head.record.map((c) =>
    c
      .replace(/^\uFEFF/, '')
      .trim()
      .toLowerCase(),
  );
  const headerLines = head.raw.replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0;
  const header = linesOf(bytes, starts, head.info.lines - headerLines, head.info.lines);
  const records: CsvRecord[] = [];
  for (const row of body) {
    const text = row.raw.replace(/\r?\n$/, '');
    // info.lines is the line the record ends on; a quoted cell may span several lines.
    const to = row.info.lines;
    const line = to - (text.match(/\n/g)?.length ?? 0);
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

/** The first line after `line` that is not blank (csv-parse skips blank lines). */
function firstNonEmptyLineAfter(bytes: Buffer, starts: readonly number[], line: number): number {
  let l = line + 1;
  while (l < starts.length - 1 && linesOf(bytes, starts, l, l).toString('latin1').trim() === '') l++;
  return l;
}

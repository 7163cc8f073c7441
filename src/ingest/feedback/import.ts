/**
 * `importFeedback`: a feedback file (SPEC §3.3) into the `feedback` table.
 *
 * Parse and validate in JS (parse.ts), bulk-append the good rows to a staging table through the
 * engine's appender, then replace by id in one transaction (set-based SQL): re-importing a file
 * updates rows and never duplicates them; an id repeated within a file keeps its last record.
 * Bad records are reported (line, reason, field) and written verbatim to a rejects file; every
 * good record is kept. Feedback files are small, so the whole file is read into memory.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join as joinPath } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../errors.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import type { Engine } from '../../store/engine.js';
import { raw } from '../../store/sql.js';
import { inTransaction } from '../../store/transaction.js';
import { recordImport } from '../ledger.js';
import type { ImportReport } from '../report.js';
import { BadHeader, detectFormat, parseFeedback, type FeedbackFormat, type ParsedFeedback } from './parse.js';

export interface ImportFeedbackOptions {
  /** Where the rejects file goes (beside the database); default `.sextant`. */
  rejectsDir?: string;
  /** Override the format detected from the file name (`.csv` → csv, else JSON Lines). */
  format?: FeedbackFormat;
}

const STAGING = 'feedback_staging';
const COLUMNS =
  'id, kind, created_at, distinct_id, email, organization, score, title, body, tags, status, closed_at, source';

function readText(file: string): { content: string; utf8Valid: boolean } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, { file });
  }
  if (file.toLowerCase().endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new InputError(`not a valid gzip file: ${(e as Error).message}`, { file });
    }
  }
  let utf8Valid = true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    utf8Valid = false;
  }
  return { content: new TextDecoder('utf-8').decode(bytes), utf8Valid };
}

export async function importFeedback(
  engine: Engine,
  file: string,
  opts: ImportFeedbackOptions = {},
): Promise<ImportReport> {
  const { content, utf8Valid } = readText(file);
  const format = opts.format ?? detectFormat(file);
  let parsed: ParsedFeedback;
  try {
    parsed = parseFeedback(content, format, utf8Valid);
  } catch (e) {
    if (e instanceof BadHeader) throw new InputError(e.message, { file, line: 1, field: e.column });
    throw e;
  }
  const report: ImportReport = {
    file,
    kind: 'feedback',
    records: parsed.records,
    inserted: 0,
    updated: 0,
    duplicates: 0,
    duplicateRules: {},
    rejected: parsed.rejected.map(({ line, reason, field }) =>
      field ? { line, reason, field } : { line, reason },
    ),
  };
  if (parsed.rows.length > 0) {
    report.inserted = await load(engine, parsed, file);
    report.duplicates = parsed.rows.length - report.inserted;
    report.duplicateRules = report.duplicates ? { 'feedback id': report.duplicates } : {};
  }
  if (parsed.rejected.length > 0) {
    report.rejectsFile = writeRejects(file, format, parsed, opts.rejectsDir ?? '.sextant');
  }
  await recordImport(engine, report);
  return report;
}

/** Stages the rows, replaces by id, and returns how many ids are new to the store. */
async function load(engine: Engine, parsed: ParsedFeedback, file: string): Promise<number> {
  if (!(engine instanceof DuckDbEngine)) {
    throw new Error(`feedback import has no bulk loader for the ${engine.name} engine yet`);
  }
  await engine.exec(raw(`DROP TABLE IF EXISTS ${STAGING}`));
  await engine.exec(
    raw(`CREATE TEMP TABLE ${STAGING} (
      line BIGINT, id VARCHAR, kind VARCHAR, created_at TIMESTAMPTZ, distinct_id VARCHAR, email VARCHAR,
      organization VARCHAR, score VARCHAR, title VARCHAR, body VARCHAR, tags VARCHAR[], status VARCHAR,
      closed_at TIMESTAMPTZ, source VARCHAR)`),
  );
  try {
    await engine.append(
      STAGING,
      parsed.rows.map((r) => [
        r.line,
        r.id,
        r.kind,
        r.createdAt,
        r.distinctId,
        r.email,
        r.organization,
        r.score === null ? null : String(r.score),
        r.title,
        r.body,
        r.tags,
        r.status,
        r.closedAt,
        file,
      ]),
    );
    const [fresh] = await engine.query<{ n: number }>(
      raw(`SELECT count(DISTINCT id) AS n FROM ${STAGING} WHERE id NOT IN (SELECT id FROM feedback)`),
    );
    await inTransaction(engine, async () => {
      await engine.exec(raw(`DELETE FROM feedback WHERE id IN (SELECT id FROM ${STAGING})`));
      await engine.exec(
        raw(`INSERT INTO feedback (${COLUMNS})
             SELECT id, kind, created_at, distinct_id, email, organization, CAST(score AS DOUBLE), title, body,
                    tags, status, closed_at, source
             FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY line DESC) AS rn FROM ${STAGING}) s
             WHERE rn = 1`),
      );
    });
    return fresh?.n ?? 0;
  } finally {
    await engine.exec(raw(`DROP TABLE IF EXISTS ${STAGING}`));
  }
}

function writeRejects(file: string, format: FeedbackFormat, parsed: ParsedFeedback, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const ext = format === 'csv' ? 'csv' : 'jsonl';
  const out = joinPath(dir, `${basename(file).replace(/\.gz$/i, '')}.rejects.${ext}`);
  const lines = parsed.rejected.map((r) => r.raw);
  if (format === 'csv' && parsed.header !== undefined) lines.unshift(parsed.header);
  writeFileSync(out, lines.join('\n') + '\n');
  return out;
}

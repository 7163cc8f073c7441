/**
 * `importFeedback`: a feedback file (SPEC §3.3) into the `feedback` table.
 *
 * Parse and validate in JS (parse.ts), bulk-append the good rows to a staging table through the
 * engine's appender, then replace by id in one transaction (set-based SQL): re-importing a file
 * updates rows and never duplicates them; an id repeated within a file keeps its last record.
 * Bad records are reported (line, reason, field) and written verbatim to a rejects file; every
 * good record is kept. Feedback files are small, so the whole file is read into memory.
 */
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import type { Engine } from '../../store/engine.js';
import { raw } from '../../store/sql.js';
import { inTransaction } from '../../store/transaction.js';
import { InputError } from '../../errors.js';
import { readInput, writeRejects } from '../input.js';
import { recordImport } from '../ledger.js';
import type { ImportReport } from '../report.js';
import { ISO_DATES, type DateFormat } from '../validate.js';
import { BadHeader, detectFormat, parseFeedback, type FeedbackFormat, type ParsedFeedback } from './parse.js';

export interface ImportFeedbackOptions {
  /** Where to write `<file>.<time>.rejects` with the bad records verbatim (none written when absent). */
  rejectsDir?: string;
  /** Override the format detected from the file name (`.csv` → csv, else JSON Lines). */
  format?: FeedbackFormat;
  /** How `created_at` and `closed_at` are written (`--date-format`); default ISO 8601. */
  dateFormat?: DateFormat;
}

/** The ledger's rules for feedback records not stored again. */
export const FEEDBACK_RULES = {
  unchanged: 'feedback id, unchanged',
  repeated: 'id repeated in the file (the last record wins)',
} as const;

const STAGING = '_stage_feedback';
const COLUMNS =
  'id, kind, created_at, distinct_id, email, organization, score, title, body, tags, status, closed_at, source';
/** What a record says (not where it came from): compared to tell an update from a duplicate. */
const CONTENT = [
  'kind',
  'created_at',
  'distinct_id',
  'email',
  'organization',
  'score',
  'title',
  'body',
  'tags',
  'status',
  'closed_at',
];

export async function importFeedback(
  engine: Engine,
  file: string,
  opts: ImportFeedbackOptions = {},
): Promise<ImportReport> {
  if (!(engine instanceof DuckDbEngine)) {
    throw new Error(`feedback import has no bulk loader for the ${engine.name} engine yet`);
  }
  const input = await readInput(file);
  const format = opts.format ?? detectFormat(file);
  let parsed: ParsedFeedback;
  try {
    parsed = parseFeedback(input.bytes, format, opts.dateFormat ?? ISO_DATES);
  } catch (e) {
    if (e instanceof BadHeader) throw new InputError(e.message, { file, line: 1, field: e.column });
    throw e;
  }
  if (input.damage) {
    const last = Math.max(1, ...parsed.rows.map((r) => r.line), ...parsed.rejected.map((r) => r.line));
    parsed.records++;
    parsed.rejected.push({ line: last + 1, reason: input.damage.reason, raw: input.damage.tail });
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
  if (parsed.rejected.length > 0 && opts.rejectsDir) {
    report.rejectsFile = writeRejects(
      opts.rejectsDir,
      file,
      parsed.rejected.map((r) => r.raw),
      format === 'csv' ? parsed.header : undefined,
    );
  }
  await store(engine, parsed, file, report);
  return report;
}

/**
 * Stages the rows (TEMP table, appender), then in ONE transaction counts new, updated and
 * unchanged ids, replaces by id, and writes the ledger row: a kill leaves the store as before
 * or as after the import.
 */
async function store(
  engine: DuckDbEngine,
  parsed: ParsedFeedback,
  file: string,
  report: ImportReport,
): Promise<void> {
  await engine.exec(raw(`DROP TABLE IF EXISTS ${STAGING}`));
  await engine.exec(
    raw(`CREATE TEMP TABLE ${STAGING} (
      line BIGINT, id VARCHAR, kind VARCHAR, created_at TIMESTAMPTZ, distinct_id VARCHAR, email VARCHAR,
      organization VARCHAR, score DOUBLE, title VARCHAR, body VARCHAR, tags VARCHAR[], status VARCHAR,
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
        r.score,
        r.title,
        r.body,
        r.tags,
        r.status,
        r.closedAt,
        file,
      ]),
    );
    const last = `(SELECT * FROM ${STAGING} QUALIFY row_number() OVER (PARTITION BY id ORDER BY line DESC) = 1)`;
    const differs = `(${CONTENT.map((c) => `f.${c}`).join(', ')}) IS DISTINCT FROM (${CONTENT.map((c) => `s.${c}`).join(', ')})`;
    await inTransaction(engine, async () => {
      const [c] = await engine.query<{ n: number; inserted: number; updated: number; unchanged: number }>(
        raw(`SELECT (SELECT count(*) FROM ${STAGING})::INTEGER AS n,
            count(*) FILTER (WHERE f.id IS NULL)::INTEGER AS inserted,
            count(*) FILTER (WHERE f.id IS NOT NULL AND ${differs})::INTEGER AS updated,
            count(*) FILTER (WHERE f.id IS NOT NULL AND NOT (${differs}))::INTEGER AS unchanged
          FROM ${last} s LEFT JOIN feedback f ON f.id = s.id`),
      );
      const n = c?.n ?? 0;
      report.inserted = c?.inserted ?? 0;
      report.updated = c?.updated ?? 0;
      const unchanged = c?.unchanged ?? 0;
      const repeated = n - report.inserted - report.updated - unchanged;
      report.duplicates = unchanged + repeated;
      const rules: Record<string, number> = {
        [FEEDBACK_RULES.unchanged]: unchanged,
        [FEEDBACK_RULES.repeated]: repeated,
      };
      report.duplicateRules = Object.fromEntries(Object.entries(rules).filter(([, k]) => k > 0));
      await engine.exec(raw(`DELETE FROM feedback WHERE id IN (SELECT id FROM ${STAGING})`));
      await engine.exec(
        raw(`INSERT INTO feedback (${COLUMNS})
             SELECT ${COLUMNS} FROM ${last} s ORDER BY line`),
      );
      await recordImport(engine, report);
    });
  } finally {
    await engine.exec(raw(`DROP TABLE IF EXISTS ${STAGING}`));
  }
}

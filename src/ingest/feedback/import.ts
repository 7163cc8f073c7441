/**
 * `importFeedback`: a feedback file (SPEC §3.3) into the `feedback` table.
 *
 * Parse and validate in JS (parse.ts), then bulk-load the good rows and replace by id in one
 * atomic step with the ledger row (`Engine.loadKeyed`, set-based): re-importing a file
 * updates rows and never duplicates them; an id repeated within a file keeps its last record.
 * Bad records are reported (line, reason, field) and written verbatim to a rejects file; every
 * good record is kept. Feedback files are small, so the whole file is read into memory.
 */
import type { Engine } from '../../store/engine.js';
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

/** Where a record came from, not what it says: not compared to tell an update from a duplicate. */
const PROVENANCE = ['source'];

export async function importFeedback(
  engine: Engine,
  file: string,
  opts: ImportFeedbackOptions = {},
): Promise<ImportReport> {
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
 * One row per id, the last record of the file (in file order), stored in ONE atomic step with
 * the ledger row (`Engine.loadKeyed`: bulk-loaded, counted as new, updated or unchanged against
 * the stored rows, replaced by id): a kill leaves the store as before or as after the import.
 */
async function store(
  engine: Engine,
  parsed: ParsedFeedback,
  file: string,
  report: ImportReport,
): Promise<void> {
  if (!engine.loadKeyed) {
    throw new Error(
      `the ${engine.name} store has no keyed bulk loader (Engine.loadKeyed): import feedback through a DuckDB stage of it (store/staging.ts)`,
    );
  }
  const last = new Map<string, ParsedFeedback['rows'][number]>();
  for (const r of parsed.rows) {
    const kept = last.get(r.id);
    if (!kept || kept.line <= r.line) last.set(r.id, r);
  }
  const rows = [...last.values()]
    .sort((a, b) => a.line - b.line)
    .map((r) => ({
      id: r.id,
      kind: r.kind,
      created_at: r.createdAt,
      distinct_id: r.distinctId,
      email: r.email,
      organization: r.organization,
      score: r.score,
      title: r.title,
      body: r.body,
      tags: r.tags,
      status: r.status,
      closed_at: r.closedAt,
      source: file,
    }));
  await engine.loadKeyed(
    [{ table: 'feedback', rows, key: ['id'], count: { ids: 'all', ignore: PROVENANCE } }],
    {
      finish: async ([c]) => {
        report.inserted = c?.inserted ?? 0;
        report.updated = c?.updated ?? 0;
        const unchanged = c?.unchanged ?? 0;
        const repeated = parsed.rows.length - report.inserted - report.updated - unchanged;
        report.duplicates = unchanged + repeated;
        const rules: Record<string, number> = {
          [FEEDBACK_RULES.unchanged]: unchanged,
          [FEEDBACK_RULES.repeated]: repeated,
        };
        report.duplicateRules = Object.fromEntries(Object.entries(rules).filter(([, k]) => k > 0));
        await recordImport(engine, report);
      },
    },
  );
}

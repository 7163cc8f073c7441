/**
 * The import ledger (docs/ingest.md, "The import ledger"): one `imports` row per import of one
 * file, with every count of its `ImportReport` (report.ts), so that what was imported when, from
 * which file, and what became of each record can be read back later (`sextant imports`, the
 * review's data coverage).
 *
 * `recordImport` runs plain statements and opens no transaction of its own: called inside an
 * importer's storing transaction, the ledger row commits (or rolls back) with the data it
 * describes.
 */
import type { Engine } from '../store/engine.js';
import { raw, sql, type Sql } from '../store/sql.js';
import { ledgerBalances, type ImportReport } from './report.js';

export interface RecordImportOptions {
  /**
   * The import's timestamp. When a row of the same kind with this timestamp exists (an import
   * that logged its start, as the events importer does), that row is completed; otherwise a new
   * row is written. Default: now, made later than every earlier import's, so the ledger's order
   * is the order of the imports.
   */
  importedAt?: Date | Sql;
  /** What `source` records; default: the report's `file`. */
  source?: string;
  /** false: leave `finished_at` empty (an import that has started storing, not yet done). */
  finished?: boolean;
}

/** One row of the ledger, as `listImports` reads it. Counts are null on rows written before 007. */
export interface LedgerRow {
  source: string;
  kind: string;
  importedAt: string;
  /** Null: the import was interrupted (or is still running). */
  finishedAt: string | null;
  records: number;
  inserted: number;
  updated: number | null;
  duplicates: number | null;
  duplicateRules: Record<string, number> | null;
  skipped: number | null;
  skippedTypes: Record<string, number> | null;
  rejected: number;
  rejectsFile: string | null;
}

/**
 * Writes (or completes) the ledger row of one import. Throws a programmer error when the report
 * does not add up: an importer that loses track of a record must not be able to log it.
 */
export async function recordImport(
  engine: Engine,
  report: ImportReport,
  opts: RecordImportOptions = {},
): Promise<void> {
  if (!ledgerBalances(report)) {
    throw new Error(
      `the ${report.kind} import of ${report.file} does not add up: ${JSON.stringify({
        records: report.records,
        inserted: report.inserted,
        updated: report.updated,
        duplicates: report.duplicates,
        duplicateRules: report.duplicateRules,
        skipped: report.skipped,
        rejected: report.rejected.length,
      })}`,
    );
  }
  const skippedTypes = report.skipped ?? {};
  const skipped = Object.values(skippedTypes).reduce((a, b) => a + b, 0);
  const rules = JSON.stringify(sortedKeys(report.duplicateRules));
  const types = JSON.stringify(sortedKeys(skippedTypes));
  const now = engine.dialect.sqlNow();
  const finished = opts.finished === false ? raw('NULL') : now;
  const source = opts.source ?? report.file;
  const at =
    opts.importedAt === undefined
      ? sql`greatest(${now}, coalesce((SELECT max(imported_at) FROM imports), ${now}) + INTERVAL 1 MICROSECOND)`
      : opts.importedAt instanceof Date
        ? sql`${opts.importedAt}`
        : opts.importedAt;
  if (opts.importedAt !== undefined) {
    const [existing] = await engine.query<{ n: number }>(
      sql`SELECT count(*)::INTEGER AS n FROM imports WHERE kind = ${report.kind} AND imported_at = ${at}`,
    );
    if (existing?.n) {
      await engine.exec(sql`UPDATE imports SET source = ${source}, records = ${report.records},
          inserted = ${report.inserted}, updated = ${report.updated}, duplicates = ${report.duplicates},
          duplicate_rules = ${rules}::JSON, skipped = ${skipped}, skipped_types = ${types}::JSON,
          rejected = ${report.rejected.length}, rejects_file = ${report.rejectsFile ?? null},
          finished_at = ${finished}
        WHERE kind = ${report.kind} AND imported_at = ${at}`);
      return;
    }
  }
  await engine.exec(sql`INSERT INTO imports (source, kind, imported_at, records, inserted, updated,
      duplicates, duplicate_rules, skipped, skipped_types, rejected, rejects_file, finished_at)
    VALUES (${source}, ${report.kind}, ${at}, ${report.records}, ${report.inserted}, ${report.updated},
      ${report.duplicates}, ${rules}, ${skipped}, ${types}, ${report.rejected.length},
      ${report.rejectsFile ?? null}, ${finished})`);
}

function sortedKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The ledger, oldest import first (ties: kind, source). */
export async function listImports(engine: Engine, opts: { kind?: string } = {}): Promise<LedgerRow[]> {
  const where = opts.kind === undefined ? raw('') : sql`WHERE kind = ${opts.kind}`;
  const rows = await engine.query<{
    source: string;
    kind: string;
    imported_at: string;
    finished_at: string | null;
    records: number;
    inserted: number;
    updated: number | null;
    duplicates: number | null;
    duplicate_rules: string | Record<string, number> | null;
    skipped: number | null;
    skipped_types: string | Record<string, number> | null;
    rejected: number;
    rejects_file: string | null;
  }>(sql`SELECT source, kind, imported_at, finished_at, records, inserted, updated, duplicates,
      duplicate_rules, skipped, skipped_types, rejected, rejects_file
    FROM imports ${where} ORDER BY imported_at, kind, source`);
  return rows.map((r) => ({
    source: r.source,
    kind: r.kind,
    importedAt: r.imported_at,
    finishedAt: r.finished_at,
    records: Number(r.records),
    inserted: Number(r.inserted),
    updated: r.updated === null ? null : Number(r.updated),
    duplicates: r.duplicates === null ? null : Number(r.duplicates),
    duplicateRules: counts(r.duplicate_rules),
    skipped: r.skipped === null ? null : Number(r.skipped),
    skippedTypes: counts(r.skipped_types),
    rejected: Number(r.rejected),
    rejectsFile: r.rejects_file,
  }));
}

/** A JSON column of counts: DuckDB hands JSON back as its text. */
function counts(v: string | Record<string, number> | null): Record<string, number> | null {
  return typeof v === 'string' ? (JSON.parse(v) as Record<string, number>) : v;
}

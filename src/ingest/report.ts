/**
 * The import ledger's unit: what one import of one file did. Every record read is accounted for
 * exactly once (docs/ingest.md, "The import ledger"):
 *
 *   records = inserted + updated + duplicates + skipped (all types) + rejected.length
 *
 * The CLI prints it and exits 2 when anything was rejected; `recordImport` (ledger.ts) keeps it in
 * the store's `imports` table, which `sextant imports` and the review's data coverage read.
 */
export interface RejectedRecord {
  /** 1-based line (JSONL/CSV) or record index (JSON array, Parquet row). */
  line: number;
  reason: string;
  field?: string;
  /** Byte offset of the record in the (uncompressed) file, when lines cannot be numbered. */
  offset?: number;
}

export interface ImportReport {
  file: string;
  kind: 'events' | 'stripe' | 'subscriptions' | 'feedback';
  /** Records read (good and bad). */
  records: number;
  /** New records stored. */
  inserted: number;
  /** Records that replaced a stored version of the same object (by its documented key). */
  updated: number;
  /** Good records not stored because a documented key says they are already stored. */
  duplicates: number;
  /**
   * `duplicates` by the rule that made each one a duplicate (e.g. `uuid`, `content+occurrence`,
   * `stripe id, same or older version`); the counts add up to `duplicates`.
   */
  duplicateRules: Record<string, number>;
  /** Records of types that are not imported (e.g. Stripe `charge`), by type. */
  skipped?: Record<string, number>;
  rejected: RejectedRecord[];
  /** Where the bad lines were written, verbatim, when any were. */
  rejectsFile?: string;
  /**
   * What the import could store but the reviews will not be able to use as expected, with what
   * to do (e.g. Stripe subscriptions without invoices: "no revenue history: export invoices too").
   */
  warnings?: string[];
}

/** Whether the report's counts add up (the ledger invariant above). */
export function ledgerBalances(r: ImportReport): boolean {
  const skipped = Object.values(r.skipped ?? {}).reduce((a, b) => a + b, 0);
  const rules = Object.values(r.duplicateRules).reduce((a, b) => a + b, 0);
  return (
    rules === r.duplicates &&
    r.records === r.inserted + r.updated + r.duplicates + skipped + r.rejected.length
  );
}

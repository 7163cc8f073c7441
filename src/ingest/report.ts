/** What one import of one file did; the CLI prints it and exits 2 when anything was rejected. */
export interface RejectedRecord {
  /** 1-based line (JSONL/CSV) or record index (JSON array, Parquet row). */
  line: number;
  reason: string;
  field?: string;
}

export interface ImportReport {
  file: string;
  kind: 'events' | 'stripe' | 'subscriptions' | 'feedback';
  /** Records read (good and bad). */
  records: number;
  /** New records stored. */
  inserted: number;
  /** Good records already stored (re-import), or repeated within the file. */
  duplicates: number;
  /** Records of types that are not imported (e.g. Stripe `charge`), by type. */
  skipped?: Record<string, number>;
  rejected: RejectedRecord[];
  /** Where the bad lines were written, verbatim, when any were. */
  rejectsFile?: string;
}

/**
 * What an engine does for an events import, and nothing more: read and type a file, classify its
 * records, store a batch set-based, resolve identity. The import itself (which path a file
 * takes, chunking, gzip damage, the ledger and its rules, the kill-safe order of commits) is
 * written once, in ingest/posthog/load-events.ts, against this interface and `Engine`. An engine
 * that offers these steps is named in registry.ts (`eventImportSteps`); one without them
 * (ClickHouse) imports on a DuckDB stage of itself (store/staging.ts `withImportStore`).
 *
 * The steps work on the engine's own scratch state (one import at a time per connection): the
 * classified records of the batch being stored, the ids whose person changed, the uuid hashes of
 * the batches before. Timestamps of imports (`ImportTime`) are SQL the engine spelled, passed back
 * as they are.
 */
import type { Sql } from './sql.js';

/** The formats the readers take: `jsonl-fast` is the typed reader of clean JSON Lines. */
export type EventSourceFormat = 'jsonl-fast' | 'jsonl' | 'json-array' | 'csv' | 'parquet';

/** A file as a relation of records, made by `source`; opaque but for what the import asks. */
export interface EventSource {
  /** Whether record numbers are physical lines (JSON Lines, CSV) or record indexes. */
  readonly physicalLines: boolean;
}

/** A record that failed a rule (ingest/posthog/rules.ts), with its physical line or index. */
export interface BadRecord {
  line: number;
  reason: string;
  field: string | null;
  /** The record's text, for formats without physical lines. */
  raw: string | null;
}

/** What a batch stored: its new events, and its duplicates by rule (docs/ingest.md). */
export interface StoredBatch {
  inserted: number;
  /** Good records whose uuid an earlier import stored (with a uuid / a derived one). */
  uuidStored: number;
  contentStored: number;
  /** Good records that lost to another of the batch with their uuid (given / derived). */
  uuidRepeated: number;
  contentRepeated: number;
}

/**
 * An import's timestamp, as the engine spells it in SQL: `events.imported_at` of every event it
 * stores and its `imports` row. Later than every earlier import's.
 */
export type ImportTime = Sql;

export interface EventImportSteps {
  /** Lines per chunk of the `k`-th (0-based) chunk a large JSON Lines file is cut into. */
  chunkLines(k: number): number;
  /** Sets the engine up for a long import (memory, checkpoints); `end` restores it. */
  begin(): Promise<void>;
  /** Creates the scratch state of an import (dropping what a killed one left). */
  createScratch(): Promise<void>;
  /** Drops the scratch state. */
  dropScratch(): Promise<void>;
  /** The batches are stored; what follows (overrides, persons, groups) needs no batch's bounds. */
  finishing(): Promise<void>;
  /** Ends what `begin` set (after making `inserted` new events durable the engine's way). */
  end(inserted: number): Promise<void>;
  /** A fresh import timestamp: after every earlier import's. */
  importTime(): Promise<ImportTime>;

  /** `path` as records of `format`. Throws `InputError` for a file it cannot take (CSV columns). */
  source(format: EventSourceFormat, path: string, gzip: boolean): Promise<EventSource>;
  /**
   * Reads `source` and classifies every record by the rules (ingest/posthog/rules.ts): the
   * batch. `latest`: the latest event time accepted. `stage`: read into a table first.
   * Throws when the reader cannot read the file.
   */
  classify(source: EventSource, latest: Date, stage?: boolean): Promise<void>;
  /**
   * The batch's records, those with a uuid to derive, and with `bad` (a batch of the typed
   * reader) those that fail a rule or come near the line-length limit: such a batch goes to the
   * line path (0 without `bad`).
   */
  batchCounts(bad: boolean): Promise<{ records: number; bad: number; derived: number }>;
  /** The batch's bad records, in line order. */
  badRecords(source: EventSource): Promise<BadRecord[]>;
  /** Derived uuids for the batch's records without one, counting occurrences on from earlier batches. */
  assignDerivedKeys(): Promise<void>;
  /** Forgets the occurrences counted so far (the file read again from its first record). */
  resetOccurrences(): Promise<void>;
  /**
   * Inside a transaction: identity from the records stored, the batch's new events inserted
   * with `at` and `source`, its duplicates counted by rule, its uuids kept for `removeImportsDoubles`.
   */
  storeBatch(at: ImportTime, source: string): Promise<StoredBatch>;
  /**
   * Inside a transaction: each uuid import `at` stored more than once keeps its earliest
   * timestamp, then its first stored copy; identity follows. Returns the events removed.
   */
  removeImportsDoubles(at: ImportTime): Promise<number>;

  /** Events imports whose `imports` row has no `finished_at`. */
  unfinishedImports(): Promise<ImportTime[]>;
  /** Resets what the ids whose person changed are gathered in (a finish without an import). */
  resetChanged(): Promise<void>;
  /** Inside a transaction: `removeImportsDoubles` for interrupted imports (their hashes are lost). */
  removeInterruptedDoubles(imports: readonly ImportTime[]): Promise<void>;
  /**
   * Inside a transaction: the distinct_ids whose person changed, gathered for the overrides;
   * with `checkEvents`, every event's person now is checked against the map too (an interrupted
   * import's changed ids are lost).
   */
  gatherChanged(checkEvents: boolean): Promise<void>;
  /** Inside a transaction: the overrides of the ids whose person changed (events never move). */
  upsertOverrides(): Promise<void>;
  /** Inside a transaction: interrupted imports' rows count the doubles removed as duplicates. */
  repairInterruptedLedgers(imports: readonly ImportTime[], repeatedRule: string): Promise<void>;
  /** Inside a transaction: persons and groups refreshed for the events of `imports`. */
  refreshPersonsAndGroups(imports: readonly ImportTime[]): Promise<void>;

  /**
   * Identity re-derived after events were stored by any path (ingest/posthog/identity.ts), for
   * the events imported since `since` (or all), in one transaction.
   */
  applyIdentity(since?: Date): Promise<void>;
}

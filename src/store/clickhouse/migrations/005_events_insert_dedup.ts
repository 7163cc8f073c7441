/**
 * `events` remembers the last 10,000 inserts' deduplication tokens, so an insert retried with the
 * same `insert_deduplication_token` (an import's id and batch number: store/staging.ts) stores
 * nothing twice. A plain MergeTree keeps none by default (`non_replicated_deduplication_window =
 * 0`); on a cluster the local tables are Replicated, which deduplicate by default
 * (`replicated_deduplication_window`), so nothing is changed there. No DuckDB twin: DuckDB's
 * inserts are transactions, a failed one stores nothing.
 */
import type { SchemaContext } from '../schema.js';

export const DEDUP_WINDOW = 10_000;

export function statements(ctx: SchemaContext): Promise<string[]> {
  if (ctx.cluster) return Promise.resolve([]);
  return Promise.resolve([
    `ALTER TABLE events MODIFY SETTING non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
  ]);
}

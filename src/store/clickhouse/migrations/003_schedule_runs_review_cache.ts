/**
 * The ClickHouse twin of DuckDB migrations 017 and 025: the server's monthly schedule (one row per
 * review it built or tried to, one per summary it sent) and the review cache. Versioned tables
 * keyed like DuckDB's primary keys, so a newer state of a row replaces the older
 * (ReplacingMergeTree, read FINAL).
 */
import { createTable, type SchemaContext, type TableDef } from '../schema.js';

const TS = "DateTime64(6, 'UTC')";
const NTS = `Nullable(${TS})`;

export const TABLES: readonly TableDef[] = [
  {
    name: 'schedule_runs',
    columns: [
      ['month', 'String'],
      ['product', 'String'],
      ['due_at', TS],
      ['started_at', TS],
      ['attempts', 'Int32'],
      ['built_at', NTS],
      ['error', 'Nullable(String)'],
    ],
    versioned: true,
    orderBy: ['month', 'product'],
  },
  {
    name: 'schedule_notifications',
    columns: [
      ['month', 'String'],
      ['channel', 'String'],
      ['attempts', 'Int32'],
      ['sent_at', NTS],
      ['error', 'Nullable(String)'],
    ],
    versioned: true,
    orderBy: ['month', 'channel'],
  },
  {
    name: 'review_cache',
    columns: [
      ['product', 'String'],
      ['month', 'String'],
      ['cache_key', 'String'],
      ['built_at', TS],
      ['payload', 'String'],
    ],
    versioned: true,
    orderBy: ['product', 'month'],
  },
];

export function statements(ctx: SchemaContext): Promise<string[]> {
  return Promise.resolve(TABLES.flatMap((t) => createTable(t, ctx)));
}

/**
 * The ClickHouse twin of DuckDB migration 027: `person_overrides`, distinct_id → the person it
 * resolves to now, for distinct_ids whose events were written with another person (docs/ingest.md,
 * "Identity"). A ReplacingMergeTree keyed by distinct_id: a newer override is an insert, and reads
 * (`final = 1`) see the latest per distinct_id (`_version`, the insert time; `version` is the
 * store's own counter, the same on both engines). Small, so every node of a cluster holds it
 * whole and joins it to its shard of `events` locally.
 */
import { createTable, type SchemaContext, type TableDef } from '../schema.js';

export const TABLES: readonly TableDef[] = [
  {
    name: 'person_overrides',
    columns: [
      ['distinct_id', 'String'],
      ['person_id', 'String'],
      ['version', 'Int64'],
    ],
    versioned: true,
    orderBy: ['distinct_id'],
  },
];

export function statements(ctx: SchemaContext): Promise<string[]> {
  return Promise.resolve(TABLES.flatMap((t) => createTable(t, ctx)));
}

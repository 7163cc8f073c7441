/**
 * ClickHouse migrations, applied in order, once each (`schema_migrations` records them). Every
 * statement is idempotent (IF NOT EXISTS), so a migration interrupted halfway is simply run again.
 * A new DuckDB migration that adds a column needs its ClickHouse twin here (`schema.test.ts`
 * fails until it has one): `addColumn(table, ctx, name, type)` spells it for one server or a
 * cluster.
 */
import { createTable, type SchemaContext, type TableDef } from '../schema.js';
import { TABLES as TABLES_001 } from './001_init.js';
import * as m002 from './002_billing_identity_versions_launches.js';
import type { Inspect } from './002_billing_identity_versions_launches.js';
import * as m003 from './003_schedule_runs_review_cache.js';
import * as m004 from './004_person_overrides.js';
import * as m005 from './005_events_insert_dedup.js';

export type { Inspect };

export interface Migration {
  version: number;
  name: string;
  /** The statements to run, in order; a migration may first look at the store (`inspect`). */
  statements(ctx: SchemaContext, inspect: Inspect): Promise<string[]>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001_init',
    statements: (ctx) => Promise.resolve(TABLES_001.flatMap((t) => createTable(t, ctx))),
  },
  { version: 2, name: '002_billing_identity_versions_launches', statements: m002.statements },
  { version: 3, name: '003_schedule_runs_review_cache', statements: m003.statements },
  { version: 4, name: '004_person_overrides', statements: m004.statements },
  { version: 5, name: '005_events_insert_dedup', statements: m005.statements },
];

/** Every table of the current schema, by name (their definitions as of the latest migration). */
export const CURRENT_TABLES: ReadonlyMap<string, TableDef> = new Map(
  [...m002.TABLES, ...m003.TABLES, ...m004.TABLES].map((t) => [t.name, t]),
);

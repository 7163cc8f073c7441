/**
 * ClickHouse migrations, applied in order, once each (`schema_migrations` records them). Every
 * statement is idempotent (IF NOT EXISTS), so a migration interrupted halfway is simply run again.
 * A new DuckDB migration that adds a column needs its ClickHouse twin here (`schema.test.ts`
 * fails until it has one): `addColumn(table, ctx, name, type)` spells it for one server or a
 * cluster.
 */
import { createTable, type SchemaContext, type TableDef } from '../schema.js';
import { TABLES } from './001_init.js';

export interface Migration {
  version: number;
  name: string;
  statements(ctx: SchemaContext): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '001_init', statements: (ctx) => TABLES.flatMap((t) => createTable(t, ctx)) },
];

/** Every table of the current schema, by name (their definitions as of the latest migration). */
export const CURRENT_TABLES: ReadonlyMap<string, TableDef> = new Map(TABLES.map((t) => [t.name, t]));

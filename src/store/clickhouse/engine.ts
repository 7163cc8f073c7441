import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { InputError } from '../../errors.js';
import type { Engine, KeyedBatch, KeyedLoadOptions, KeyedOutcome, Row, TableInfo } from '../engine.js';
import type { Sql } from '../sql.js';
import { clickhouseDialect } from './dialect.js';
import { loadKeyed } from './load-keyed.js';
import { CURRENT_TABLES, MIGRATIONS } from './migrations/index.js';
import {
  DELETED_COLUMN,
  INTERNAL_COLUMNS,
  SCHEMA_MIGRATIONS,
  createDatabase,
  createTable,
  ident,
  str,
  localName,
  type SchemaContext,
} from './schema.js';
import type { ClickHouseTarget } from './target.js';
// A type-only import: chdb itself loads lazily, and only for a chdb: target.
import type * as ChdbModule from 'chdb/connection';
import { bindParam, chDateTime, fromClickHouse, parseType } from './values.js';

/**
 * Settings every statement runs with: what makes ClickHouse answer like DuckDB (standard SQL) for
 * the same query text. Each is checked by store/dialect.test.ts or the conformance suite.
 */
const SETTINGS: ClickHouseSettings = {
  // An outer join's missing side is NULL, not the type's default (0, '').
  join_use_nulls: 1,
  // sum/max/avg… over no rows are NULL, not 0.
  aggregate_functions_null_for_empty: 1,
  // `SELECT date_trunc(…) AS timestamp … WHERE timestamp …` means the column, as in SQL.
  prefer_column_name_to_alias: 1,
  union_default_mode: 'DISTINCT',
  // GROUPING SETS: a column a set does not group by is NULL, not its type's default.
  group_by_use_nulls: 1,
  // Branches of CASE/UNION without a common type are an error (as in DuckDB), not a Variant.
  use_variant_as_common_type: 0,
  // CAST(NULL AS BIGINT) and CAST(<nullable> AS …) are NULL, not an error.
  cast_keep_nullable: 1,
  // JOIN … ON with inequalities beside the equalities (validity ranges).
  allow_experimental_join_condition: 1,
  // Versioned tables (ReplacingMergeTree) read as one row per key, the latest: see schema.ts.
  final: 1,
  // `WITH x AS MATERIALIZED (…)`: computed once, however often it is read (dialect sqlMaterialized).
  enable_materialized_cte: 1,
  session_timezone: 'UTC',
  // toStartOfMonth(…) and friends as Date32/DateTime64, so times before 1970 do not wrap.
  enable_extended_results_for_datetime_functions: 1,
  // 64-bit integers as JSON strings, converted exactly by values.ts (no silent rounding past 2^53).
  output_format_json_quote_64bit_integers: 1,
  date_time_input_format: 'best_effort',
  input_format_null_as_default: 1,
};

/** On a cluster, in addition: IN/JOIN subqueries on distributed tables are computed once and sent
 * to every shard (always correct; `local` is faster but only right for person-keyed subqueries),
 * and an insert returns once the shards have it. */
const CLUSTER_SETTINGS: ClickHouseSettings = {
  distributed_product_mode: 'global',
  distributed_foreground_insert: 1,
};

const CHDB_MISSING =
  "the chdb: target runs ClickHouse in-process through the optional package 'chdb' (about 0.5 GB), " +
  'which is not installed: run `npm install chdb` in the folder Sextant is installed in, or use a ' +
  'DuckDB file or a clickhouse:// server';

async function chdbConnection(
  dir: string,
  display: string,
  create: boolean,
): Promise<Parameters<typeof createClient>[0]> {
  let mod: typeof ChdbModule;
  try {
    mod = await import('chdb/connection');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new InputError(CHDB_MISSING, { field: '--db' });
    }
    throw e;
  }
  if (!create && !existsSync(dir)) {
    throw new InputError(
      `no store at ${display}: import data first (\`sextant --db ${display} import events|stripe|subscriptions|feedback <file>\`), or point --db at an existing store`,
      { field: '--db' },
    );
  }
  mkdirSync(dir, { recursive: true });
  // chdb types the connection against its own copy of @clickhouse/client-common; same contract.
  type Connection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;
  return { connection: mod.createChdbConnection({ path: dir }) as unknown as Connection };
}

/** `a; b` → [a, b], splitting only outside quotes and comments. For our own DDL scripts. */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      cur += c;
      if (c === '\\') cur += text[++i] ?? '';
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
      cur += c;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

interface JsonResult {
  meta: { name: string; type: string }[];
  data: Record<string, unknown>[];
}

export class ClickHouseEngine implements Engine {
  readonly name = 'clickhouse' as const;
  readonly dialect = clickhouseDialect;
  readonly target: string;
  readonly #client: ClickHouseClient;
  readonly #ctx: SchemaContext;
  /** A view of `connect`: shares the client, whose close is the owner's. */
  readonly #shared: boolean;
  /** chdb: one session in this process, which takes settings as SETs only. */
  readonly #inProcess: boolean;

  /**
   * On a ClickHouse server, the same client: its HTTP sockets are a pool already, so statements
   * sent from here and from the owner run side by side on the server. Absent on an in-process
   * chdb store, whose one session runs one statement at a time.
   */
  readonly connect?: () => Promise<ClickHouseEngine>;

  private constructor(
    target: string,
    client: ClickHouseClient,
    ctx: SchemaContext,
    opts: { shared?: boolean; inProcess?: boolean } = {},
  ) {
    this.target = target;
    this.#client = client;
    this.#ctx = ctx;
    this.#shared = opts.shared ?? false;
    this.#inProcess = opts.inProcess ?? false;
    if (!opts.inProcess) {
      this.connect = () => Promise.resolve(new ClickHouseEngine(target, client, ctx, { shared: true }));
    }
  }

  /** Connects (creating the database if needed). A chdb target's directory is created. */
  /** `create: false` refuses a chdb folder that does not exist (a server's database is created). */
  static async open(t: ClickHouseTarget, { create = true } = {}): Promise<ClickHouseEngine> {
    const ctx: SchemaContext =
      t.kind === 'server' && t.cluster
        ? { database: t.database, cluster: t.cluster }
        : { database: t.database };
    const settings = { ...SETTINGS, ...(ctx.cluster ? CLUSTER_SETTINGS : {}) };
    if (t.kind === 'chdb') {
      // The session remembers SET and USE (chdb ignores the client's `database`). Settings given to
      // the client would be sent as SETs before every statement: 10× the cost of a small query.
      const client = createClient(await chdbConnection(t.dir, t.display, create));
      for (const [k, v] of Object.entries(settings)) {
        await client.command({ query: `SET ${k} = ${typeof v === 'string' ? `'${v}'` : String(v)}` });
      }
      await client.command({ query: createDatabase(ctx) });
      await client.command({ query: `USE \`${ctx.database}\`` });
      return new ClickHouseEngine(t.display, client, ctx, { inProcess: true });
    }
    const base = { url: t.url, username: t.username, password: t.password, clickhouse_settings: settings };
    const admin = createClient(base);
    try {
      await admin.command({ query: createDatabase(ctx) });
    } catch (e) {
      throw new Error(`cannot reach ClickHouse at ${t.display}: ${(e as Error).message}`);
    } finally {
      await admin.close();
    }
    return new ClickHouseEngine(t.display, createClient({ ...base, database: t.database }), ctx);
  }

  /** ClickHouse's own parser's rendering of a statement (nothing runs): validates DDL we cannot run here. */
  async formatQuery(statement: string): Promise<string> {
    const [row] = await this.#json(`SELECT formatQuery({q:String}) AS q`, { q: statement });
    return String(row?.q);
  }

  async #json(text: string, params: Record<string, unknown> = {}): Promise<Row[]> {
    const rs = await this.#client.query({ query: text, query_params: params, format: 'JSON' });
    const r = await rs.json<Record<string, unknown>>();
    const { meta, data } = r as unknown as JsonResult;
    const types = meta.map((m) => [m.name, parseType(m.type)] as const);
    return data.map((row) => {
      const out: Row = {};
      for (const [n, t] of types) out[n] = fromClickHouse(row[n], t);
      return out;
    });
  }

  #render(q: Sql): { text: string; params: Record<string, unknown> } {
    const params: Record<string, unknown> = {};
    const { text } = q.render((i, v) => {
      const b = bindParam(v);
      params[`p${i}`] = b.value;
      return `{p${i}:${b.type}}`;
    }, 'clickhouse');
    return { text, params };
  }

  async query<T = Row>(q: Sql): Promise<T[]> {
    const { text, params } = this.#render(q);
    return (await this.#json(text, params)) as T[];
  }

  async exec(q: Sql): Promise<void> {
    const { text, params } = this.#render(q);
    const statements = Object.keys(params).length === 0 ? splitStatements(text) : [text];
    for (const s of statements) await this.#client.command({ query: s, query_params: params });
  }

  async migrate(): Promise<void> {
    for (const s of createTable(SCHEMA_MIGRATIONS, this.#ctx)) await this.#client.command({ query: s });
    const done = new Set(
      (await this.#json('SELECT version FROM schema_migrations')).map((r) => Number(r.version)),
    );
    const inspect = {
      tableExists: async (table: string) =>
        (
          await this.#json(
            'SELECT 1 FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
            { t: table },
          )
        ).length > 0,
      hasColumn: async (table: string, column: string) =>
        (
          await this.#json(
            'SELECT 1 FROM system.columns WHERE database = currentDatabase() AND table = {t:String} AND name = {c:String}',
            { t: table, c: column },
          )
        ).length > 0,
    };
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      try {
        for (const s of await m.statements(this.#ctx, inspect)) await this.#client.command({ query: s });
      } catch (e) {
        throw new Error(`migration ${m.name} failed on ${this.target}: ${(e as Error).message}`);
      }
      await this.insert('schema_migrations', [{ version: m.version, name: m.name, applied_at: new Date() }]);
    }
  }

  async tables(): Promise<TableInfo[]> {
    const rows = await this.#json(
      `SELECT table, groupArray(name) AS columns FROM (
         SELECT table, name, position FROM system.columns
         WHERE database = currentDatabase() AND table IN {tables:Array(String)}
           AND name NOT IN {internal:Array(String)}
         ORDER BY table, position)
       GROUP BY table ORDER BY table`,
      { tables: [...CURRENT_TABLES.keys()], internal: [...INTERNAL_COLUMNS] },
    );
    return rows.map((r) => ({ name: String(r.table), columns: r.columns as string[] }));
  }

  async *scan(
    table: string,
    columns: readonly string[],
    batchRows: number,
    where?: Sql,
  ): AsyncIterable<Row[]> {
    const typeRows = await this.#json(
      `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}`,
      { t: table },
    );
    const types = new Map(typeRows.map((r) => [String(r.name), parseType(String(r.type))]));
    const cols = columns.map((c) => {
      const t = types.get(c);
      if (!t) throw new Error(`${table} has no column ${c}`);
      return [c, t] as const;
    });
    const { select, params } = this.#select(table, columns, where);
    const rs = await this.#client.query({
      query: select,
      query_params: params,
      format: 'JSONEachRow',
    });
    let batch: Row[] = [];
    for await (const rows of rs.stream<Record<string, unknown>>()) {
      for (const r of rows) {
        const v = r.json();
        const out: Row = {};
        for (const [c, t] of cols) out[c] = fromClickHouse(v[c], t, true);
        batch.push(out);
        if (batch.length >= batchRows) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** `SELECT columns FROM table [WHERE where]`, names quoted, with `where`'s parameters. */
  #select(
    table: string,
    columns: readonly string[],
    where?: Sql,
  ): { select: string; params: Record<string, unknown> } {
    const filter = where ? this.#render(where) : { text: '', params: {} };
    const list = columns.map(ident).join(', ');
    return {
      select: `SELECT ${list} FROM ${ident(table)}${where ? ` WHERE ${filter.text}` : ''}`,
      params: filter.params,
    };
  }

  async scanToParquet(table: string, columns: readonly string[], file: string, where?: Sql): Promise<void> {
    const { select, params } = this.#select(table, columns, where);
    if (!this.#inProcess) {
      // The server's answer, streamed to the file (no shared filesystem).
      const { stream } = await this.#client.exec({
        query: `${select} FORMAT Parquet`,
        query_params: params,
      });
      await pipeline(stream, createWriteStream(file));
      return;
    }
    // chdb, in this process, writes the file itself (no file when no row holds).
    await this.#client.command({
      query: `INSERT INTO FUNCTION file(${str(file)}, Parquet) ${select} SETTINGS engine_file_truncate_on_insert = 1`,
      query_params: params,
    });
  }

  async stageRows(name: string, columns: readonly string[], rows: readonly Row[]): Promise<void> {
    await this.#client.command({ query: `DROP TABLE IF EXISTS ${ident(name)} SYNC` });
    await this.#client.command({
      query: `CREATE TABLE ${ident(name)} (${columns.map((c) => `${ident(c)} Nullable(String)`).join(', ')}) ENGINE = Memory`,
    });
    for (let i = 0; i < rows.length; i += 100_000) await this.insert(name, rows.slice(i, i + 100_000));
  }

  async dropStaged(name: string): Promise<void> {
    await this.#client.command({ query: `DROP TABLE IF EXISTS ${ident(name)} SYNC` });
  }

  async insert(table: string, rows: readonly Row[], o: { dedupToken?: string } = {}): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map((r) => {
      const out: Row = {};
      for (const [k, v] of Object.entries(r)) out[k] = v instanceof Date ? chDateTime(v) : v;
      return out;
    });
    if (o.dedupToken === undefined) {
      await this.#client.insert({ table, values, format: 'JSONEachRow' });
      return;
    }
    if (!this.#inProcess) {
      await this.#client.insert({
        table,
        values,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: o.dedupToken },
      });
      return;
    }
    // chdb's connection does not pass a request's settings: its one session takes a SET.
    await this.#client.command({
      query: 'SET insert_deduplication_token = {t:String}',
      query_params: { t: o.dedupToken },
    });
    try {
      await this.#client.insert({ table, values, format: 'JSONEachRow' });
    } finally {
      await this.#client.command({ query: "SET insert_deduplication_token = ''" });
    }
  }

  async appendParquet(
    table: string,
    columns: readonly string[],
    file: string,
    o: { dedupToken?: string } = {},
  ): Promise<void> {
    if (!this.#inProcess) {
      // The bytes go through the client, streamed from the file: the server parses them.
      await this.#client.insert({
        table,
        values: createReadStream(file),
        format: 'Parquet',
        columns: columns as [string, ...string[]],
        ...(o.dedupToken === undefined
          ? {}
          : { clickhouse_settings: { insert_deduplication_token: o.dedupToken } }),
      });
      return;
    }
    // chdb runs in this process: it reads the file itself (its connection's insert takes text
    // only), typed as the table's columns. Its one session takes the token as a SET.
    const typeRows = await this.#json(
      `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}`,
      { t: table },
    );
    const types = new Map(typeRows.map((r) => [String(r.name), String(r.type)]));
    const structure = columns
      .map((c) => {
        const t = types.get(c);
        if (!t) throw new Error(`${table} has no column ${c}`);
        return `${ident(c)} ${t}`;
      })
      .join(', ');
    const list = columns.map(ident).join(', ');
    const insert = `INSERT INTO ${ident(table)} (${list}) SELECT ${list} FROM file(${str(file)}, Parquet, ${str(structure)})`;
    if (o.dedupToken === undefined) {
      await this.#client.command({ query: insert });
      return;
    }
    await this.#client.command({
      query: 'SET insert_deduplication_token = {t:String}',
      query_params: { t: o.dedupToken },
    });
    try {
      await this.#client.command({ query: insert });
    } finally {
      await this.#client.command({ query: "SET insert_deduplication_token = ''" });
    }
  }

  async upsert(table: string, rows: readonly Row[], key: readonly string[]): Promise<void> {
    this.#keyed(table, key);
    // A newer `_version` of the same key replaces the stored row (ReplacingMergeTree, read FINAL).
    await this.insert(table, rows);
  }

  async remove(table: string, rows: readonly Row[], key: readonly string[]): Promise<void> {
    this.#keyed(table, key);
    if (rows.length === 0) return;
    // The keys go to a scratch table, then a newer version of each key marked `_deleted = 1`
    // (`_version`, its insert time, computed; other columns their defaults) is inserted from it.
    // A `_deleted` value in an INSERT … FORMAT is dropped: materialized columns are only
    // writable from a SELECT with insert_allow_materialized_columns.
    const scratch = `_sextant_remove_${table}`;
    const types = new Map(
      (
        await this.#json(
          `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}`,
          { t: table },
        )
      ).map((r) => [String(r.name), String(r.type)]),
    );
    await this.stageRows(
      scratch,
      key,
      rows.map((r) =>
        Object.fromEntries(key.map((k) => [k, r[k] instanceof Date ? chDateTime(r[k]) : r[k]])),
      ),
    );
    try {
      const cols = key.map(ident).join(', ');
      // Timestamps travel as ISO text with a zone (`…T…Z`), which a plain CAST does not read.
      const casts = key
        .map((k) => {
          const type = types.get(k) ?? 'String';
          const v = type.includes('DateTime') ? `parseDateTime64BestEffort(${ident(k)}, 6, 'UTC')` : ident(k);
          return `CAST(${v} AS ${type})`;
        })
        .join(', ');
      await this.#client.command({
        query: `INSERT INTO ${ident(table)} (${cols}, ${ident(DELETED_COLUMN)}) SETTINGS insert_allow_materialized_columns = 1
          SELECT ${casts}, 1 FROM ${ident(scratch)}`,
      });
    } finally {
      await this.dropStaged(scratch);
    }
  }

  #keyed(table: string, key: readonly string[]): NonNullable<ReturnType<typeof CURRENT_TABLES.get>> {
    const def = CURRENT_TABLES.get(table);
    if (!def?.versioned || def.orderBy.join() !== key.join()) {
      throw new Error(
        `${table} is not keyed by (${key.join(', ')}) in the ClickHouse schema (clickhouse/schema.ts)`,
      );
    }
    return def;
  }

  loadKeyed(batches: readonly KeyedBatch[], o?: KeyedLoadOptions): Promise<KeyedOutcome[]> {
    return loadKeyed(this, batches, { ...o, sweep: this.#inProcess });
  }

  async truncate(table: string): Promise<void> {
    const def = CURRENT_TABLES.get(table);
    if (!def) throw new Error(`no table ${table} in the ClickHouse schema`);
    const local = localName(def, this.#ctx);
    const on = this.#ctx.cluster ? ` ON CLUSTER \`${this.#ctx.cluster}\`` : '';
    await this.#client.command({ query: `TRUNCATE TABLE IF EXISTS \`${local}\`${on}` });
  }

  async replace(table: string, batches: AsyncIterable<Row[]>): Promise<void> {
    const def = CURRENT_TABLES.get(table);
    if (!def) throw new Error(`no table ${table} in the ClickHouse schema`);
    if (this.#ctx.cluster) {
      // EXCHANGE swaps one server's tables; a cluster's replicated shards have no atomic swap.
      throw new Error(
        `replacing table ${table} on cluster ${this.#ctx.cluster} is not supported: write to the cluster with inserts only`,
      );
    }
    // Filled beside the table, then swapped with it in one atomic rename (an Atomic database's
    // EXCHANGE TABLES): a kill before the swap leaves the old table whole and a stale twin, which
    // the next replace drops first.
    const twin = `${table}__replace`;
    await this.#client.command({ query: `DROP TABLE IF EXISTS \`${twin}\` SYNC` });
    await this.#client.command({ query: `CREATE TABLE \`${twin}\` AS \`${table}\`` });
    try {
      for await (const rows of batches) await this.insert(twin, rows);
      await this.#client.command({ query: `EXCHANGE TABLES \`${table}\` AND \`${twin}\`` });
    } finally {
      await this.#client.command({ query: `DROP TABLE IF EXISTS \`${twin}\` SYNC` });
    }
  }

  async close(): Promise<void> {
    if (this.#shared) return;
    await this.#client.close();
  }
}

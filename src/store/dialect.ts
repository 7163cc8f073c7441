import type { Sql } from './sql.js';

export type EngineName = 'duckdb' | 'clickhouse';
export type TimeUnit = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';

/**
 * What differs between engines when an analysis writes SQL. Pure: it spells SQL, runs nothing.
 * Every method that emits SQL starts with `sql`, so one grep finds them all. Analyses are written
 * once against this interface; an engine folder implements it (see store/CONTEXT.md).
 *
 * Conventions: timestamps are UTC `timestamptz` (DuckDB) / `DateTime64(6,'UTC')` (ClickHouse);
 * `properties` columns are JSON text; paths are given as arrays of keys, never as SQL text.
 */
export interface Dialect {
  readonly name: EngineName;

  /** Start of the `unit` holding `ts`, as a timestamp. Weeks start on `weekStart` (default monday). */
  sqlDateTrunc(unit: TimeUnit, ts: Sql, weekStart?: 'sunday' | 'monday'): Sql;
  /** Whole `unit`s from `a` to `b` (calendar boundaries crossed, like DuckDB's date_diff). */
  sqlDateDiff(unit: TimeUnit, a: Sql, b: Sql): Sql;
  /** `ts + n unit`; `n` may be an SQL expression. */
  sqlDateAdd(unit: TimeUnit, n: Sql, ts: Sql): Sql;
  /** Seconds between two timestamps as a double. */
  sqlEpochSeconds(ts: Sql): Sql;
  /** A `YYYY-MM` string for the month holding `ts`. */
  sqlMonthKey(ts: Sql): Sql;
  /** A `YYYY-MM-DD` string for the day holding `ts`. */
  sqlDayKey(ts: Sql): Sql;
  /** A timestamp from a bound ISO string parameter. */
  sqlTimestamp(iso: Sql): Sql;

  /** A JSON property as text (null when absent); `path` is a list of keys. */
  sqlJsonString(json: Sql, path: readonly string[]): Sql;
  /** A JSON property as a double (null when absent or not numeric). */
  sqlJsonNumber(json: Sql, path: readonly string[]): Sql;

  /** `count(distinct x)`, exact or approximate (HyperLogLog) when `approximate`. */
  sqlCountDistinct(expr: Sql, approximate?: boolean): Sql;
  /** Aggregate: the values of `expr` as an array, ordered by `orderBy`. */
  sqlArrayAgg(expr: Sql, orderBy?: Sql): Sql;
  /** True when the array `arr` contains `value`. */
  sqlArrayContains(arr: Sql, value: Sql): Sql;
  /** Number of elements of an array. */
  sqlArrayLength(arr: Sql): Sql;
  /** Element `i` (1-based) of an array. */
  sqlArrayElement(arr: Sql, i: Sql): Sql;
  /** Median (exact or the engine's accurate quantile). */
  sqlMedian(expr: Sql): Sql;
  /** Quantile `q` in [0, 1]. */
  sqlQuantile(expr: Sql, q: number): Sql;
  /**
   * `argMax`: the value of `expr` on the row with the greatest `by`. A total order: rows tied on
   * `by` are told apart by `expr` itself (the greatest wins), so the answer never depends on the
   * order the engine read the rows in (import order, threads). Rows with a null `by` are ignored.
   */
  sqlArgMax(expr: Sql, by: Sql): Sql;
  /** `argMin`: the value of `expr` on the row with the smallest `by`; ties go to the smallest `expr`. */
  sqlArgMin(expr: Sql, by: Sql): Sql;
  /**
   * True when `expr` matches the glob `pattern`: `*` any characters (newlines too), `?` one; every
   * other character is itself (`[`, `\`, `%`, `_` included), as metrics/scope.ts `matchesGlob`.
   * The pattern is bound, never SQL text.
   */
  sqlGlob(expr: Sql, pattern: string): Sql;
  /** Division returning null (not an error, not infinity) when the divisor is 0. */
  sqlSafeDivide(a: Sql, b: Sql): Sql;
  /** The `if(cond, a, b)` expression. */
  sqlIf(cond: Sql, a: Sql, b: Sql): Sql;
  /**
   * An integer numbering `unit`s since 1970-01 (UTC; weeks start on `weekStart`, default sunday):
   * consecutive intervals get consecutive numbers, so bucketing and "n intervals later" are plain
   * integer arithmetic, with no per-row calendar function (slow on DuckDB's TIMESTAMPTZ).
   * Mirrored in JS by insights/common.ts `intervalNumber`.
   */
  sqlIntervalNumber(unit: 'day' | 'week' | 'month', ts: Sql, weekStart?: 'sunday' | 'monday'): Sql;
  /** Aggregate (also as a window function): how many rows satisfy `cond`. */
  sqlCountIf(cond: Sql): Sql;
  /** The smallest non-null argument (null when all are null). Engines differ on nulls in `least`. */
  sqlLeast(args: readonly Sql[]): Sql;
  /** The greatest non-null argument (null when all are null), like `sqlLeast`. */
  sqlGreatest(args: readonly Sql[]): Sql;
  /**
   * `x` rounded to a whole number, halves away from zero (2.5 → 3, −2.5 → −3), in x's own type
   * (DOUBLE or DECIMAL). ClickHouse's round() rounds a double's halves to even.
   */
  sqlRound(x: Sql): Sql;
  /**
   * A CTE `name AS (body)` that is computed once however often the query reads it. DuckDB decides
   * for itself (it materializes a CTE read more than once); ClickHouse inlines a CTE at each read
   * unless told, so a window numbering tied rows could number them differently at each read.
   */
  sqlMaterialized(name: string, body: Sql): Sql;
  /**
   * Window function: `expr` on the next row of the window `over` (`PARTITION BY … ORDER BY …`),
   * null on the last row. ClickHouse's lead() gives the type's default (0, 1970-01-01) there.
   */
  sqlLead(expr: Sql, over: Sql): Sql;
  /** True when bit `bit` (0-based) of the integer `x` is set. */
  sqlBitTest(x: Sql, bit: number): Sql;
  /**
   * An inline table: `rows` (each a list of values, in `columns` order) as a relation to use in
   * FROM/JOIN, aliased `alias` with the given column names.
   */
  sqlValues(alias: string, columns: readonly string[], rows: readonly (readonly Sql[])[]): Sql;
  /** A 64-bit hash of a value: a narrow sort and join key (two distinct values collide with probability 2⁻⁶⁴). */
  sqlHash64(expr: Sql): Sql;
  /** The current time as a timestamp with microseconds (DuckDB: the transaction's start). */
  sqlNow(): Sql;
  /**
   * `expr IN (SELECT column FROM table)`, where `table` is a scratch table this connection created
   * (`Engine.stageRows`). On a ClickHouse cluster such a table exists on the server the query is
   * sent to and on no shard, so the set is built there and sent to every shard (`GLOBAL IN`); a
   * plain IN would run the subquery on each shard, which has no such table.
   */
  sqlInScratch(expr: Sql, table: string, column: string): Sql;
  /**
   * `SELECT *` from `source` plus running counts: column `as` is how many rows at or before this
   * one, in the order `partition…, order…`, satisfy `when`. A count is only comparable with counts
   * of rows in the same partition: an engine may number across partitions (DuckDB counts once over
   * the sorted rows in a streaming window, far cheaper than per-partition frames on large
   * partitions; the portable spelling is `count(*) FILTER (WHERE when) OVER (PARTITION BY
   * partition ORDER BY order ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`). Rows tied on the
   * whole order take an arbitrary but consistent order — so the caller must read the result once
   * (a materialized CTE): an engine that re-evaluates a CTE at each reference could number tied
   * rows differently each time.
   */
  sqlRunningCounts(
    source: Sql,
    partition: readonly Sql[],
    order: readonly Sql[],
    counts: readonly { when: Sql; as: string }[],
  ): Sql;
}

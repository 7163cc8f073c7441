import type { Dialect, TimeUnit } from '../dialect.js';
import { ident, join, raw, sql, type Sql } from '../sql.js';

function jsonPath(path: readonly string[]): string {
  // A JSONPath with every key quoted, so keys like `$groups` or `a.b` are taken literally.
  return '$' + path.map((k) => '."' + k.replaceAll('\\', '\\\\').replaceAll('"', '\\"') + '"').join('');
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',

  sqlDateTrunc(unit: TimeUnit, ts: Sql, weekStart = 'monday') {
    if (unit === 'week' && weekStart === 'sunday') {
      // DuckDB weeks are ISO (monday); shift by a day to start on sunday.
      return sql`(date_trunc('week', ${ts} + INTERVAL 1 DAY) - INTERVAL 1 DAY)`;
    }
    return sql`date_trunc(${raw(`'${unit}'`)}, ${ts})`;
  },
  sqlDateDiff(unit, a, b) {
    return sql`date_diff(${raw(`'${unit}'`)}, ${a}, ${b})`;
  },
  sqlDateAdd(unit, n, ts) {
    return sql`(${ts} + to_${raw(unit === 'week' ? 'weeks' : unit + 's')}(CAST(${n} AS INTEGER)))`;
  },
  sqlEpochSeconds(ts) {
    return sql`epoch(${ts})`;
  },
  sqlMonthKey(ts) {
    return sql`strftime(${ts}, '%Y-%m')`;
  },
  sqlDayKey(ts) {
    return sql`strftime(${ts}, '%Y-%m-%d')`;
  },
  sqlTimestamp(iso) {
    return sql`CAST(${iso} AS TIMESTAMPTZ)`;
  },
  sqlJsonString(json, path) {
    return sql`json_extract_string(${json}, ${raw(`'${jsonPath(path).replaceAll("'", "''")}'`)})`;
  },
  sqlJsonNumber(json, path) {
    return sql`TRY_CAST(json_extract_string(${json}, ${raw(`'${jsonPath(path).replaceAll("'", "''")}'`)}) AS DOUBLE)`;
  },
  sqlCountDistinct(expr, approximate = false) {
    return approximate ? sql`approx_count_distinct(${expr})` : sql`count(DISTINCT ${expr})`;
  },
  sqlArrayAgg(expr, orderBy) {
    return orderBy ? sql`list(${expr} ORDER BY ${orderBy})` : sql`list(${expr})`;
  },
  sqlArrayContains(arr, value) {
    return sql`list_contains(${arr}, ${value})`;
  },
  sqlArrayLength(arr) {
    return sql`len(${arr})`;
  },
  sqlArrayElement(arr, i) {
    return sql`${arr}[${i}]`;
  },
  sqlMedian(expr) {
    return sql`median(${expr})`;
  },
  sqlQuantile(expr, q) {
    return sql`quantile_cont(${expr}, ${raw(String(Number(q)))})`;
  },
  sqlArgMax(expr, by) {
    // A row value (by, expr) orders ties on `by` by `expr`; the CASE keeps ignoring null `by`s.
    return sql`arg_max(${expr}, CASE WHEN ${by} IS NOT NULL THEN (${by}, ${expr}) END)`;
  },
  sqlArgMin(expr, by) {
    return sql`arg_min(${expr}, CASE WHEN ${by} IS NOT NULL THEN (${by}, ${expr}) END)`;
  },
  sqlGlob(expr, pattern) {
    // GLOB also reads `[…]` classes and `\` escapes: escape both so only `*` and `?` are special.
    return sql`(${expr} GLOB ${pattern.replace(/[\\[]/g, '\\$&')})`;
  },
  sqlSafeDivide(a, b) {
    return sql`(CAST(${a} AS DOUBLE) / NULLIF(${b}, 0))`;
  },
  sqlIf(cond, a, b) {
    return sql`(CASE WHEN ${cond} THEN ${a} ELSE ${b} END)`;
  },
  sqlIntervalNumber(unit, ts, weekStart = 'sunday') {
    // 1970-01-01 was a Thursday: +4 days puts a sunday, +3 a monday, at a multiple of 7.
    if (unit === 'day') return sql`CAST(floor(epoch(${ts}) / 86400) AS BIGINT)`;
    if (unit === 'week') {
      return sql`CAST(floor((floor(epoch(${ts}) / 86400) + ${raw(weekStart === 'sunday' ? '4' : '3')}) / 7) AS BIGINT)`;
    }
    return sql`(CAST(year(CAST(${ts} AS TIMESTAMP)) AS BIGINT) * 12 + month(CAST(${ts} AS TIMESTAMP)) - 1 - 1970 * 12)`;
  },
  sqlCountIf(cond) {
    return sql`count(*) FILTER (WHERE ${cond})`;
  },
  sqlLeast(args) {
    // DuckDB's least() skips nulls.
    return sql`least(${join(args)})`;
  },
  sqlGreatest(args) {
    // DuckDB's greatest() skips nulls.
    return sql`greatest(${join(args)})`;
  },
  sqlRound(x) {
    // DuckDB rounds halves away from zero for DOUBLE and DECIMAL alike.
    return sql`round(${x})`;
  },
  sqlMaterialized(name, body) {
    return sql`${ident(name)} AS (${body})`;
  },
  sqlLead(expr, over) {
    return sql`lead(${expr}) OVER (${over})`;
  },
  sqlBitTest(x, bit) {
    return sql`((${x} & ${raw(String(2 ** bit))}) <> 0)`;
  },
  sqlValues(alias, columns, rows) {
    const body = join(rows.map((r) => sql`(${join([...r])})`));
    return sql`(VALUES ${body}) ${ident(alias)}(${join(columns.map((c) => ident(c)))})`;
  },
  sqlHash64(expr) {
    return sql`hash(${expr})`;
  },
  sqlNow() {
    return sql`now()`;
  },
  sqlInScratch(expr, table, column) {
    return sql`${expr} IN (SELECT ${ident(column)} FROM ${ident(table)})`;
  },
  sqlRunningCounts(source, partition, order, counts) {
    // One parallel sort, then a streaming window (an empty OVER keeps the sorted order: DuckDB's
    // order preservation rules) with one cheap running count per column. Partitioned frames
    // (`PARTITION BY … ORDER BY … ROWS UNBOUNDED PRECEDING`) cost a segment tree per count and
    // were 5x slower on persons with thousands of events (docs/insights.md#performance).
    if (counts.length === 0) return source;
    const cols = counts.map(
      (c) =>
        sql`count(*) FILTER (WHERE ${c.when}) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${ident(c.as)}`,
    );
    return sql`SELECT *, ${join(cols)}
      FROM (SELECT * FROM (${source}) ORDER BY ${join([...partition, ...order])})`;
  },
};

import type { Dialect, TimeUnit } from '../dialect.js';
import { ident, join, raw, sql, type Sql } from '../sql.js';

/**
 * ClickHouse spellings with DuckDB's semantics (the reference: store/duckdb/dialect.ts), checked
 * method by method on the same inputs by store/dialect.test.ts. Timestamps are
 * `DateTime64(6, 'UTC')`; JSON columns are text (String), read with the JSON* functions whose key
 * arguments are literal keys, so `$groups` or `a.b` need no escaping. The engine runs every query
 * with the settings that make ClickHouse behave like an SQL database (clickhouse/engine.ts:
 * `join_use_nulls`, `aggregate_functions_null_for_empty`, …).
 */

const TS = (e: Sql): Sql => sql`toDateTime64(${e}, 6, 'UTC')`;

const TRUNC: Record<Exclude<TimeUnit, 'week'>, string> = {
  second: 'toStartOfSecond',
  minute: 'toStartOfMinute',
  hour: 'toStartOfHour',
  day: 'toStartOfDay',
  month: 'toStartOfMonth',
  quarter: 'toStartOfQuarter',
  year: 'toStartOfYear',
};

const INTERVAL: Record<TimeUnit, string> = {
  second: 'toIntervalSecond',
  minute: 'toIntervalMinute',
  hour: 'toIntervalHour',
  day: 'toIntervalDay',
  week: 'toIntervalWeek',
  month: 'toIntervalMonth',
  quarter: 'toIntervalQuarter',
  year: 'toIntervalYear',
};

/** JSON keys as bound parameters: literal keys, never SQL text. */
const keys = (path: readonly string[]): Sql => join(path.map((k) => sql`${k}`));

/**
 * DuckDB's `json_extract_string`: strings unquoted, other values as JSON text, null for JSON null
 * or a missing key. ClickHouse re-serializes a double in its shortest form (`1` for `1.0`) where
 * DuckDB always writes a fraction (`1.0`), so an integral double gets its `.0` back.
 */
function jsonString(json: Sql, path: readonly string[]): Sql {
  const value = sql`JSONExtract(${json}, ${keys(path)}, 'Nullable(String)')`;
  return sql`if(JSONType(${json}, ${keys(path)}) = 'Double' AND match(${value}, '^-?[0-9]+$'), concat(${value}, '.0'), ${value})`;
}

/**
 * least/greatest skipping nulls, as DuckDB's do: ClickHouse's are null when any argument is.
 * Each argument falls back on the others, so a null one never wins and all-null stays null.
 */
function nullSkipping(fn: 'least' | 'greatest', args: readonly Sql[]): Sql {
  if (args.length === 1) return args[0] as Sql;
  const fallbacks = args.map((a, i) => sql`coalesce(${join([a, ...args.filter((_, j) => j !== i)])})`);
  return sql`${raw(fn)}(${join(fallbacks)})`;
}

/**
 * DuckDB's quantile_cont, operation for operation: the sorted values at floor and ceil of
 * RN = (n−1)·q, interpolated as lo·(1−d) + hi·d with d = RN − floor(RN). ClickHouse's
 * quantileExactInclusive finds the same point but interpolates as lo + (hi − lo)·d, a different
 * rounding in the last place (the conformance suite saw 1487.5253999710085 against …087).
 */
function quantileCont(expr: Sql, q: number): Sql {
  const s = sql`arraySort(groupArray(toFloat64(${expr})))`;
  const rn = sql`(${raw(String(Number(q)))} * (length(${s}) - 1))`;
  const lo = sql`arrayElement(${s}, toUInt64(floor(${rn})) + 1)`;
  const hi = sql`arrayElement(${s}, toUInt64(ceil(${rn})) + 1)`;
  const d = sql`(${rn} - floor(${rn}))`;
  return sql`if(length(${s}) = 0, NULL, if(floor(${rn}) = ceil(${rn}), ${lo}, ${lo} * (1.0 - ${d}) + ${hi} * ${d}))`;
}

export const clickhouseDialect: Dialect = {
  name: 'clickhouse',

  sqlDateTrunc(unit, ts, weekStart = 'monday') {
    if (unit === 'week') return TS(sql`toStartOfWeek(${ts}, ${raw(weekStart === 'sunday' ? '0' : '1')})`);
    if (unit === 'second' || unit === 'minute' || unit === 'hour') {
      return TS(sql`${raw(TRUNC[unit])}(${TS(ts)})`);
    }
    return TS(sql`${raw(TRUNC[unit])}(${ts})`);
  },
  sqlDateDiff(unit, a, b) {
    // DuckDB counts calendar boundaries crossed, like ClickHouse's dateDiff, except for weeks:
    // whole 7-day spans of the day difference, truncated toward zero.
    if (unit === 'week') return sql`intDiv(dateDiff('day', ${a}, ${b}), 7)`;
    return sql`dateDiff(${raw(`'${unit}'`)}, ${a}, ${b})`;
  },
  sqlDateAdd(unit, n, ts) {
    // DuckDB casts `n` to INTEGER, rounding half to even.
    return sql`(${TS(ts)} + ${raw(INTERVAL[unit])}(toInt32(roundBankers(${n}))))`;
  },
  sqlEpochSeconds(ts) {
    return sql`(toUnixTimestamp64Micro(${TS(ts)}) / 1000000)`;
  },
  sqlMonthKey(ts) {
    return sql`formatDateTime(${TS(ts)}, '%Y-%m')`;
  },
  sqlDayKey(ts) {
    return sql`formatDateTime(${TS(ts)}, '%Y-%m-%d')`;
  },
  sqlTimestamp(iso) {
    return sql`parseDateTime64BestEffort(${iso}, 6, 'UTC')`;
  },
  sqlJsonString(json, path) {
    return jsonString(json, path);
  },
  sqlJsonNumber(json, path) {
    // DuckDB's TRY_CAST(... AS DOUBLE) accepts surrounding spaces.
    return sql`toFloat64OrNull(trimBoth(${jsonString(json, path)}))`;
  },
  sqlCountDistinct(expr, approximate = false) {
    // `uniq` is ClickHouse's adaptive HyperLogLog; exact counts use uniqExact (count DISTINCT).
    return approximate ? sql`uniq(${expr})` : sql`count(DISTINCT ${expr})`;
  },
  sqlArrayAgg(expr, orderBy) {
    // groupArray skips nulls where DuckDB's list() keeps them: wrap each value in a tuple so a
    // null travels as a tuple element, and order by the second element when asked.
    if (orderBy) {
      return sql`arrayMap(x -> x.1, arraySort(x -> x.2, groupArray(tuple(${expr}, ${orderBy}))))`;
    }
    return sql`arrayMap(x -> x.1, groupArray(tuple(${expr})))`;
  },
  sqlArrayContains(arr, value) {
    // Predicates are Bool, like DuckDB's BOOLEAN (ClickHouse's functions return 0/1 as UInt8).
    return sql`toBool(has(${arr}, ${value}))`;
  },
  sqlArrayLength(arr) {
    return sql`length(${arr})`;
  },
  sqlArrayElement(arr, i) {
    // ClickHouse returns the type's default past the end; DuckDB returns null.
    return sql`if(${i} BETWEEN 1 AND length(${arr}), arrayElement(${arr}, ${i}), NULL)`;
  },
  sqlMedian(expr) {
    // `median` is approximate in ClickHouse (a reservoir sample).
    return quantileCont(expr, 0.5);
  },
  sqlQuantile(expr, q) {
    return quantileCont(expr, q);
  },
  sqlArgMax(expr, by) {
    // The total order (by, expr), as DuckDB's dialect spells it; rows with a null `by` or `expr`
    // are ignored as DuckDB's arg_max ignores them (a tuple cannot be null in ClickHouse: -If).
    return sql`argMaxIf(${expr}, tuple(${by}, ${expr}), ${by} IS NOT NULL AND ${expr} IS NOT NULL)`;
  },
  sqlArgMin(expr, by) {
    return sql`argMinIf(${expr}, tuple(${by}, ${expr}), ${by} IS NOT NULL AND ${expr} IS NOT NULL)`;
  },
  sqlGlob(expr, pattern) {
    // An anchored RE2 regex: `*` → `.*` (with (?s), across newlines), `?` → `.`, the rest literal.
    const re = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    return sql`toBool(match(${expr}, ${'(?s)^' + re + '$'}))`;
  },
  sqlSafeDivide(a, b) {
    return sql`(toFloat64(${a}) / nullIf(${b}, 0))`;
  },
  sqlIf(cond, a, b) {
    return sql`(CASE WHEN ${cond} THEN ${a} ELSE ${b} END)`;
  },
  sqlIntervalNumber(unit, ts, weekStart = 'sunday') {
    // DuckDB's arithmetic step for step (seconds as a double, then floor), so days before 1970
    // are negative too (toRelativeDayNum is unsigned).
    const day = sql`floor((toUnixTimestamp64Micro(${TS(ts)}) / 1000000) / 86400)`;
    if (unit === 'day') return sql`toInt64(${day})`;
    if (unit === 'week') {
      // 1970-01-01 was a Thursday: +4 days puts a sunday, +3 a monday, at a multiple of 7.
      return sql`toInt64(floor((${day} + ${raw(weekStart === 'sunday' ? '4' : '3')}) / 7))`;
    }
    return sql`(toInt64(toYear(${TS(ts)})) * 12 + toMonth(${TS(ts)}) - 1 - 1970 * 12)`;
  },
  sqlCountIf(cond) {
    return sql`countIf(${cond})`;
  },
  sqlLeast(args) {
    return nullSkipping('least', args);
  },
  sqlGreatest(args) {
    return nullSkipping('greatest', args);
  },
  sqlRound(x) {
    // Halves away from zero in x's own type (a Decimal stays exact): x − trunc(x) is exact for
    // decimals and binary doubles alike, so the half test is too.
    return sql`if(abs(${x} - trunc(${x})) >= 0.5, trunc(${x}) + sign(${x}), trunc(${x}))`;
  },
  sqlMaterialized(name, body) {
    return sql`${ident(name)} AS MATERIALIZED (${body})`;
  },
  sqlLead(expr, over) {
    return sql`leadInFrame(toNullable(${expr})) OVER (${over} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`;
  },
  sqlBitTest(x, bit) {
    return sql`toBool(bitAnd(${x}, ${raw(String(2 ** bit))}) <> 0)`;
  },
  sqlValues(alias, columns, rows) {
    const body = join(rows.map((r) => sql`(${join([...r])})`));
    return sql`(SELECT * FROM (VALUES ${body}) AS ${ident(alias + '_v')}(${join(columns.map((c) => ident(c)))})) AS ${ident(alias)}`;
  },
  sqlNow() {
    // now() has whole seconds only.
    return sql`now64(6, 'UTC')`;
  },
  sqlInScratch(expr, table, column) {
    // GLOBAL: correct on one server and on a cluster alike (see Dialect.sqlInScratch).
    return sql`${expr} GLOBAL IN (SELECT ${ident(column)} FROM ${ident(table)})`;
  },
  sqlHash64(expr) {
    return sql`cityHash64(${expr})`;
  },
  sqlRunningCounts(source, partition, order, counts) {
    if (counts.length === 0) return source;
    const over = sql`PARTITION BY ${join([...partition])} ORDER BY ${join([...order])} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`;
    const cols = counts.map((c) => sql`countIf(${c.when}) OVER (${over}) AS ${ident(c.as)}`);
    return sql`SELECT *, ${join(cols)} FROM (${source})`;
  },
};

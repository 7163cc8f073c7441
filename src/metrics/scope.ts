/**
 * Event scoping, shared by usage metrics, insights and deep dives: which events count as
 * "activity", and which belong to a product. Written once against the dialect; every pattern is a
 * bound parameter, never SQL text.
 *
 * Glob semantics (docs/metrics.md#event-scoping): a pattern matches the WHOLE event name,
 * case-sensitively; `*` matches any run of characters (including none, and including `/`, `$`,
 * spaces), `?` exactly one character. A pattern without `*` or `?` is an exact name and is
 * compared with `=`, so names holding `[`, `]` or `\` match themselves literally. (Inside a
 * wildcard pattern those three characters are the engine's business: DuckDB's GLOB reads `[…]`
 * as a character class; avoid them in wildcard patterns.)
 *
 * An activity event of a product:
 *   matches one of `activity.activeEvents`
 *   and matches none of `activity.excludeEvents`
 *   and, for a configured product with `events`, matches one of the product's `events`.
 * `all` (or a product with no `events`) adds no product filter. An empty `activeEvents` list
 * makes nothing active.
 */
import type { Config } from '../config/schema.js';
import type { Dialect } from '../store/dialect.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import type { ProductScope } from './types.js';

export type ActivityConfig = Config['activity'];

const TRUE = raw('TRUE');
const FALSE = raw('FALSE');

export function isWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** JS twin of the SQL match, for code that already holds event names (same semantics). */
export function matchesGlob(pattern: string, name: string): boolean {
  if (!isWildcard(pattern)) return pattern === name;
  const re = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp('^' + re + '$', 's').test(name);
}

/** True when `name` matches any of `patterns`. */
export function matchesAnyGlob(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => matchesGlob(p, name));
}

/**
 * `column` matches any of `patterns`: exact names become one `IN (…)`, wildcard patterns one
 * glob each; a bare `*` is TRUE. An empty list is FALSE.
 */
export function sqlMatchesAny(d: Dialect, column: Sql, patterns: readonly string[]): Sql {
  if (patterns.includes('*')) return TRUE;
  const exact = [...new Set(patterns.filter((p) => !isWildcard(p)))];
  const globs = [...new Set(patterns.filter(isWildcard))];
  const parts: Sql[] = [];
  if (exact.length === 1) parts.push(sql`${column} = ${exact[0] as string}`);
  else if (exact.length > 1) parts.push(sql`${column} IN (${join(exact.map((e) => sql`${e}`))})`);
  for (const g of globs) parts.push(d.sqlGlob(column, g));
  if (parts.length === 0) return FALSE;
  return parts.length === 1 ? (parts[0] as Sql) : sql`(${join(parts, ' OR ')})`;
}

/** The product's own event filter: its `events` globs, or TRUE for `all` / a product without any. */
export function sqlProductEvents(d: Dialect, product: ProductScope, column: Sql = raw('event')): Sql {
  return product.events.length === 0 ? TRUE : sqlMatchesAny(d, column, product.events);
}

/**
 * "An activity event of this product" (see the file comment), as a boolean SQL expression over
 * `column` (default: the `event` column of `events`).
 */
export function sqlActivityEvent(
  d: Dialect,
  activity: ActivityConfig,
  product: ProductScope,
  column: Sql = raw('event'),
): Sql {
  const active = sqlMatchesAny(d, column, activity.activeEvents);
  const excluded =
    activity.excludeEvents.length === 0 ? FALSE : sqlMatchesAny(d, column, activity.excludeEvents);
  const inProduct = sqlProductEvents(d, product, column);
  return sql`(${active} AND NOT (${excluded}) AND ${inProduct})`;
}

/** JS twin of `sqlActivityEvent`. */
export function isActivityEvent(activity: ActivityConfig, product: ProductScope, name: string): boolean {
  return (
    matchesAnyGlob(activity.activeEvents, name) &&
    !matchesAnyGlob(activity.excludeEvents, name) &&
    (product.events.length === 0 || matchesAnyGlob(product.events, name))
  );
}

/**
 * Which events count as "using a feature" in the deep dives that compare events (icp-vs-non-icp,
 * leading-indicators). Every event of the product counts, `$`-prefixed autocapture included
 * (`$pageview`, `$autocapture`, `$screen` are real use and may differ between groups), except:
 * - `activity.excludeEvents` of the config, and
 * - the identity and bookkeeping events below, which record who someone is or what they were
 *   shown, not what they did with the product.
 */
import type { Config } from '../../config/schema.js';
import { sqlMatchesAny, sqlProductEvents } from '../../metrics/scope.js';
import type { ProductScope } from '../../metrics/types.js';
import type { Dialect } from '../../store/dialect.js';
import { raw, sql, type Sql } from '../../store/sql.js';

export const BOOKKEEPING_EVENTS: readonly string[] = [
  '$identify',
  '$groupidentify',
  '$set',
  '$create_alias',
  '$merge_dangerously',
  '$feature_flag_called',
  '$opt_in',
  'survey sent',
  'survey shown',
  'survey dismissed',
];

/** A boolean SQL expression over `column`: the event is a feature event of `product`. */
export function sqlFeatureEvent(
  d: Dialect,
  config: Config,
  product: ProductScope,
  column: Sql = raw('event'),
): Sql {
  const excluded = sqlMatchesAny(d, column, [...config.activity.excludeEvents, ...BOOKKEEPING_EVENTS]);
  return sql`(${sqlProductEvents(d, product, column)} AND NOT (${excluded}))`;
}

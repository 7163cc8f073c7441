/**
 * Which feedback belongs to a product (docs/metrics.md#feedback). Feedback is rarely
 * product-tagged, so by default every row counts for every product. A row can be pinned to
 * products with tags `product:<name>`: it then counts for those products (and `all`) only.
 * Tags naming products that are not configured are ignored. NPS survey events always count for
 * every product (a survey answer says nothing about which product it is about).
 */
import { join, raw, sql, type Sql } from '../../store/sql.js';
import type { MetricContext } from '../types.js';

export const PRODUCT_TAG_PREFIX = 'product:';

export function sqlFeedbackInProduct(ctx: MetricContext, tags: Sql): Sql {
  const { product, config, engine } = ctx;
  if (product.name === 'all') return raw('TRUE');
  const d = engine.dialect;
  const has = (name: string): Sql =>
    sql`coalesce(${d.sqlArrayContains(tags, sql`${PRODUCT_TAG_PREFIX + name}`)}, FALSE)`;
  const others = config.products.map((p) => p.name).filter((n) => n !== product.name);
  if (others.length === 0) return raw('TRUE');
  return sql`(${has(product.name)} OR NOT (${join(others.map(has), ' OR ')}))`;
}

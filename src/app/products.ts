import type { Config } from '../config/schema.js';
import { isMonth, type Month } from '../domain/month.js';
import { InputError } from '../errors.js';
import { productScope, type ProductScope } from '../metrics/types.js';

/** Every product a review can be about: the configured ones, then `all` (the whole company). */
export function allProducts(config: Config): string[] {
  return [...config.products.map((p) => p.name), 'all'];
}

/** `product` checked against the configuration, or every product when it is undefined. */
export function reviewProducts(config: Config, product?: string, field = 'product'): string[] {
  if (product === undefined) return allProducts(config);
  return [scopeOf(config, product, field).name];
}

/** The scope of a configured product or `all`; anything else is an `InputError` naming `field`. */
export function scopeOf(config: Config, product: string, field = 'product'): ProductScope {
  try {
    return productScope(config, product);
  } catch (e) {
    throw new InputError((e as Error).message, { field });
  }
}

/** `value` as a month, or an `InputError` naming `field`. */
export function monthInput(value: string, field = 'month'): Month {
  if (!isMonth(value)) throw new InputError(`'${value}' is not a month (YYYY-MM)`, { field });
  return value;
}

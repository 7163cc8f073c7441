import type { Config } from '../config/schema.js';
import type { Month } from '../domain/month.js';
import type { MetricGroup, MetricUnit } from '../domain/review.js';
import type { Engine } from '../store/engine.js';
import type { Timings } from '../review/timings.js';

/**
 * The product a review or metric is about. `all` is the whole company: every event, every
 * billing line. A configured product narrows events to its `events` glob patterns (empty: all
 * events) and billing to its `stripeProducts` (empty: no billing lines, so its revenue is null).
 */
export interface ProductScope {
  name: string;
  events: string[];
  stripeProducts: string[];
}

export const ALL_PRODUCTS: ProductScope = { name: 'all', events: [], stripeProducts: [] };

export function productScope(config: Config, name: string): ProductScope {
  if (name === 'all') return ALL_PRODUCTS;
  const p = config.products.find((x) => x.name === name);
  if (!p) {
    const names = ['all', ...config.products.map((x) => x.name)].join(', ');
    throw new Error(`unknown product '${name}' (configured: ${names})`);
  }
  return { name: p.name, events: p.events, stripeProducts: p.stripeProducts };
}

export interface MetricContext {
  engine: Engine;
  config: Config;
  product: ProductScope;
  /** The months to compute, oldest first (a review asks for 13; anomaly back-tests for more). */
  months: Month[];
  /** Where the time goes, when a review build measures it (review/timings.ts). */
  timings?: Timings;
  /**
   * The data's end (metrics/data-range.ts), when the caller knows it: revenue is measured at it in
   * the month that holds it and is null after it. Read from the store when absent.
   */
  asOf?: Date | null;
}

/** One metric's values by month, before the review shapes it (current/previous/change). */
export interface MetricValues {
  id: string;
  group: MetricGroup;
  label: string;
  unit: MetricUnit;
  description: string;
  values: Map<Month, number | null>;
  detail?: Map<Month, Record<string, unknown>>;
}

/** A family of metrics computed together (one query, written once against the dialect). */
export interface MetricFamily {
  id: string;
  compute(ctx: MetricContext): Promise<MetricValues[]>;
}

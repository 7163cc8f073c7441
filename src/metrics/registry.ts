import { feedbackFamily } from './feedback/index.js';
import { revenueFamily } from './revenue/revenue.js';
import type { Metric } from '../domain/review.js';
import { toMetric } from './shape.js';
import type { MetricContext, MetricFamily } from './types.js';
import { usageFamily } from './usage/index.js';

/**
 * Every metric family a review computes, in the order the review lists their metrics
 * (revenue, then usage, then feedback). Each family lives in its own folder.
 */
export const METRIC_FAMILIES: MetricFamily[] = [revenueFamily, usageFamily, feedbackFamily];

/** Every family's metrics over `months` in the review's shape: the one loop over the families. */
export async function computeMetrics(ctx: MetricContext): Promise<Metric[]> {
  const out: Metric[] = [];
  for (const family of METRIC_FAMILIES) {
    const values = ctx.timings
      ? await ctx.timings.time(`metrics ${family.id}`, () => family.compute(ctx))
      : await family.compute(ctx);
    for (const v of values) out.push(toMetric(v, ctx.months));
  }
  return out;
}

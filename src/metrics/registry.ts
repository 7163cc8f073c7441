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

/**
 * Every family's metrics over `months` in the review's shape: the one loop over the families.
 * `concurrent`: the families' queries run side by side (the engine must take concurrent queries:
 * a `readPool`); the metrics come out in the same order either way.
 */
export async function computeMetrics(
  ctx: MetricContext,
  opts: { concurrent?: boolean } = {},
): Promise<Metric[]> {
  const compute = (family: MetricFamily) =>
    ctx.timings ? ctx.timings.time(`metrics ${family.id}`, () => family.compute(ctx)) : family.compute(ctx);
  const perFamily: Awaited<ReturnType<MetricFamily['compute']>>[] = [];
  if (opts.concurrent) perFamily.push(...(await Promise.all(METRIC_FAMILIES.map(compute))));
  else for (const family of METRIC_FAMILIES) perFamily.push(await compute(family));
  return perFamily.flatMap((values) => values.map((v) => toMetric(v, ctx.months)));
}

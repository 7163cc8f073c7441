import type { Month } from '../domain/month.js';
import { monthsEndingAt } from '../domain/month.js';
import type { Metric } from '../domain/review.js';
import { InputError } from '../errors.js';
import { computeMetrics } from '../metrics/registry.js';
import type { AppContext } from './context.js';
import { scopeOf } from './products.js';

/** Every metric of `product` over the `months` months ending at `month` (SPEC §5's `metrics` shape). */
export async function monthlyMetrics(
  ctx: AppContext,
  input: { month: Month; product: string; months: number },
): Promise<Metric[]> {
  if (!Number.isInteger(input.months) || input.months < 1 || input.months > 120) {
    throw new InputError(`'${input.months}' is not a whole number from 1 to 120`, { field: 'months' });
  }
  const product = scopeOf(ctx.config, input.product);
  return computeMetrics({
    engine: ctx.engine,
    config: ctx.config,
    product,
    months: monthsEndingAt(input.month, input.months),
  });
}

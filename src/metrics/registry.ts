import { feedbackFamily } from './feedback/index.js';
import { revenueFamily } from './revenue/revenue.js';
import type { MetricFamily } from './types.js';
import { usageFamily } from './usage/index.js';

/**
 * Every metric family a review computes, in the order the review lists their metrics
 * (revenue, then usage, then feedback). Each family lives in its own folder.
 */
export const METRIC_FAMILIES: MetricFamily[] = [revenueFamily, usageFamily, feedbackFamily];

import type { MetricFamily } from './types.js';

/**
 * Every metric family a review computes, in the order the review lists their metrics
 * (revenue, then usage, then feedback). Each family lives in its own folder.
 */
export const METRIC_FAMILIES: MetricFamily[] = [];

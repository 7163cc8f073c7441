/**
 * One month's growth review for one product (SPEC §5): the metrics of every family over 13 months,
 * their anomalies, the five deep dives, the highlights, and the previous review's decision loop.
 * Pure assembly: every number comes from a metric family or a deep dive (an events import that
 * stopped part way is finished first).
 */
import { DEEP_DIVES } from '../analyses/dives/registry.js';
import type { Config } from '../config/schema.js';
import type { Month } from '../domain/month.js';
import { monthsEndingAt } from '../domain/month.js';
import type { DeepDive, Metric, Review } from '../domain/review.js';
import { finishInterruptedImports } from '../ingest/posthog/import-events.js';
import { launchesOfReview } from '../launches/review.js';
import { METRIC_FAMILIES } from '../metrics/registry.js';
import { toMetric } from '../metrics/shape.js';
import { productScope } from '../metrics/types.js';
import type { Engine } from '../store/engine.js';
import { detectAnomalies } from './anomalies.js';
import { backTestAnomalyDetector } from './anomaly-backtest.js';
import { dataCoverage } from './coverage.js';
import { previousReview } from './decisions.js';
import { rankHighlights } from './highlights.js';

export const REVIEW_MONTHS = 13;

export interface BuildReviewOptions {
  engine: Engine;
  config: Config;
  product: string;
  month: Month;
  /** The review's `generatedAt`; the only field that differs between two builds of the same data. */
  now?: Date;
}

export async function buildReview(o: BuildReviewOptions): Promise<Review> {
  // An events import that stopped part way left persons and groups behind its events.
  await finishInterruptedImports(o.engine);
  const scope = productScope(o.config, o.product);
  const months = monthsEndingAt(o.month, REVIEW_MONTHS);
  const metrics: Metric[] = [];
  for (const family of METRIC_FAMILIES) {
    const values = await family.compute({ engine: o.engine, config: o.config, product: scope, months });
    metrics.push(...values.map((v) => toMetric(v, months)));
  }
  const deepDives: DeepDive[] = [];
  for (const dive of DEEP_DIVES) {
    deepDives.push(
      await dive.run({ engine: o.engine, config: o.config, product: scope, month: o.month, metrics }),
    );
  }
  const currency = o.config.reporting.currency;
  const anomalies = detectAnomalies(metrics, o.month, { ...o.config.anomalies, currency });
  return {
    schemaVersion: 1,
    product: scope.name,
    month: o.month,
    generatedAt: (o.now ?? new Date()).toISOString(),
    currency,
    dataCoverage: await dataCoverage(o.engine, months),
    metrics,
    anomalies,
    anomalyDetection: anomalyDetection(o.config),
    deepDives,
    highlights: rankHighlights({
      metrics,
      anomalies,
      deepDives,
      threshold: o.config.anomalies.threshold,
      currency,
    }),
    previous: await previousReview(o.engine, scope.name, o.month, metrics),
    launches: await launchesOfReview({
      engine: o.engine,
      config: o.config,
      product: scope.name,
      month: o.month,
    }),
  };
}

function anomalyDetection(config: Config): Review['anomalyDetection'] {
  const b = backTestAnomalyDetector(config.anomalies);
  return {
    method: b.method,
    threshold: b.threshold,
    trailingMonths: b.trailingMonths,
    falsePositiveRate: b.falsePositiveRate,
    statement: b.statement,
  };
}

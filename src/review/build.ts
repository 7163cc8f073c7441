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
import type { DeepDive, Review } from '../domain/review.js';
import { finishInterruptedImports } from '../ingest/posthog/import-events.js';
import { launchesOfReview } from '../launches/review.js';
import { computeMetrics } from '../metrics/registry.js';
import { productScope } from '../metrics/types.js';
import type { Engine } from '../store/engine.js';
import { dataRanges } from '../metrics/data-range.js';
import { DEFAULT_FALSE_DISCOVERY_RATE } from './anomalies.js';
import { dataCoverage } from './coverage.js';
import { monthAnomalies, partialMonthChanges } from './incomplete-month.js';
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
  /**
   * Finish an events import that stopped part way first (default true). The use case
   * (app/reviews.ts) does it itself, alone on the store, and passes false.
   */
  finishImports?: boolean;
}

export async function buildReview(o: BuildReviewOptions): Promise<Review> {
  // An events import that stopped part way left persons and groups behind its events.
  if (o.finishImports !== false) await finishInterruptedImports(o.engine);
  const scope = productScope(o.config, o.product);
  const months = monthsEndingAt(o.month, REVIEW_MONTHS);
  const now = o.now ?? new Date();
  // What the data covers comes first: metrics are not carried past the data's end, and a month it
  // does not fully cover is judged differently (incomplete-month.ts).
  const ranges = await dataRanges(o.engine);
  const coverage = await dataCoverage(o.engine, { months, ranges, now });
  const computed = await computeMetrics({
    engine: o.engine,
    config: o.config,
    product: scope,
    months,
    asOf: ranges.last,
  });
  const metrics = partialMonthChanges(computed, coverage);
  const deepDives: DeepDive[] = [];
  for (const dive of DEEP_DIVES) {
    deepDives.push(
      await dive.run({
        engine: o.engine,
        config: o.config,
        product: scope,
        month: o.month,
        metrics,
        asOf: ranges.last,
      }),
    );
  }
  const currency = o.config.reporting.currency;
  const judged = monthAnomalies(metrics, o.month, coverage, { ...o.config.anomalies, currency });
  const anomalies = judged.anomalies;
  if (judged.statement !== null && coverage.statement !== null)
    coverage.statement = `${coverage.statement} ${judged.statement}`;
  return {
    schemaVersion: 1,
    product: scope.name,
    month: o.month,
    generatedAt: now.toISOString(),
    currency,
    dataCoverage: coverage,
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

/**
 * How anomalies were judged. The back-test that measures the detector (recall on planted jumps,
 * false-positive rate, over many seeds) is too slow for every review: `sextant backtest` and the
 * bench run it on demand (docs/analyses.md, "Back-test").
 */
function anomalyDetection(config: Config): Review['anomalyDetection'] {
  const fdr = config.anomalies.falseDiscoveryRate ?? DEFAULT_FALSE_DISCOVERY_RATE;
  return {
    method: 'per-unit-tests+benjamini-hochberg',
    threshold: config.anomalies.threshold,
    trailingMonths: config.anomalies.trailingMonths,
    falseDiscoveryRate: fdr,
    falsePositiveRate: fdr,
    statement:
      `Each metric is tested against its previous ${config.anomalies.trailingMonths} months with a test fitted to its data ` +
      `(counts: Poisson; rates: binomial; NPS: its multinomial z-test; money and durations: a robust median/MAD test), ` +
      `and a month is flagged when its Benjamini–Hochberg q-value across the month's metrics is at most ${fdr}, ` +
      `so in a month where nothing happened a false flag appears in at most ${Math.round(fdr * 100)}% of reviews.`,
  };
}

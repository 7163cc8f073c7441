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
import type { Review } from '../domain/review.js';
import { finishInterruptedImports } from '../ingest/posthog/import-events.js';
import { judgedLaunchesOfReview, linkLaunchTodos } from '../launches/review.js';
import { computeMetrics } from '../metrics/registry.js';
import { productScope, type ProductScope } from '../metrics/types.js';
import type { Engine } from '../store/engine.js';
import { buildScope, closeBuildScope } from '../store/build-scope.js';
import { readPool } from '../store/pool.js';
import { dataRanges } from '../metrics/data-range.js';
import { DEFAULT_FALSE_DISCOVERY_RATE } from './anomalies.js';
import { readCachedReview, reviewCacheKey, writeCachedReview, type CachedReviewPart } from './cache.js';
import { dataCoverage } from './coverage.js';
import { monthAnomalies, partialMonthChanges } from './incomplete-month.js';
import { previousReview } from './decisions.js';
import { rankHighlights } from './highlights.js';
import { createTimings, timingsFromEnv, type Timings } from './timings.js';

export const REVIEW_MONTHS = 13;

/** How many connections a build's independent queries run on side by side (the machine's 2 cores). */
export const BUILD_CONNECTIONS = 2;

/**
 * `SEXTANT_BUILD_CONNECTIONS` overrides `BUILD_CONNECTIONS`; 0 builds one query after another, so
 * that `--timings` gives each step's own CPU time (side by side, overlapping steps include each
 * other's). The review is the same either way.
 */
function buildConnections(): number {
  const v = process.env.SEXTANT_BUILD_CONNECTIONS;
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : BUILD_CONNECTIONS;
}

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
  /** Where the build's time goes (review/timings.ts); default: `SEXTANT_TIMINGS` decides, printed to stderr. */
  timings?: Timings;
  /**
   * Reuse the stored build of this product and month when nothing it read has changed since, and
   * store this one (review/cache.ts). Default false: the use case (app/reviews.ts) turns it on.
   */
  cache?: boolean;
  /** Runs the cache write with nothing else on the store (the use case's `exclusive`); default: directly. */
  exclusive?: <T>(work: (engine: Engine) => Promise<T>) => Promise<T>;
}

export async function buildReview(o: BuildReviewOptions): Promise<Review> {
  const own = o.timings === undefined && timingsFromEnv();
  const t = o.timings ?? createTimings(own);
  const review = await buildReviewTimed(o, t);
  if (own) for (const line of t.lines()) process.stderr.write(`[timings] ${line}\n`);
  return review;
}

async function buildReviewTimed(o: BuildReviewOptions, t: Timings): Promise<Review> {
  // An events import that stopped part way left persons and groups behind its events.
  if (o.finishImports !== false) await t.time('finish imports', () => finishInterruptedImports(o.engine));
  const scope = productScope(o.config, o.product);
  const now = o.now ?? new Date();
  const key = o.cache
    ? await t.time('cache key', () => reviewCacheKey(o.engine, o.config, scope.name, o.month, now))
    : null;
  let part = key
    ? await t.time('cache read', () => readCachedReview(o.engine, scope.name, o.month, key))
    : null;
  if (part === null) {
    part = await buildDataPart(o, scope, now, t);
    if (key !== null) {
      const run = o.exclusive ?? ((work) => work(o.engine));
      const built = part;
      await t.time('cache write', () =>
        run((engine) => writeCachedReview(engine, scope.name, o.month, key, built, now)),
      );
    }
  } else if (t.enabled) {
    await t.time('(cached: metrics, dives, anomalies, highlights, launches)', () => undefined);
  }
  const { metrics, launches: judgedLaunches } = part;
  const currency = o.config.reporting.currency;
  const previous = await t.time('previous review', () =>
    previousReview(o.engine, scope.name, o.month, metrics),
  );
  const launches = await t.time('launch to-dos', () =>
    linkLaunchTodos(
      { engine: o.engine, config: o.config, product: scope.name, month: o.month },
      judgedLaunches,
    ),
  );
  return {
    schemaVersion: 1,
    product: scope.name,
    month: o.month,
    generatedAt: now.toISOString(),
    currency,
    dataCoverage: part.dataCoverage,
    metrics,
    anomalies: part.anomalies,
    anomalyDetection: anomalyDetection(o.config),
    deepDives: part.deepDives,
    highlights: part.highlights,
    previous,
    launches,
  };
}

/**
 * What only the data, the config and the code decide (and `now`, only while the month is not
 * over: review/cache.ts): the part the cache keeps. Passed through JSON (as the cache stores it,
 * and as review.json holds it) so a cached build and a fresh one are the same values: a -0 or an
 * undefined field can never tell them apart.
 */
async function buildDataPart(
  o: BuildReviewOptions,
  scope: ProductScope,
  now: Date,
  t: Timings,
): Promise<CachedReviewPart> {
  // Independent queries (the metric families, the deep dives, the launches) run side by side on
  // further connections of the store (`readPool`), each seeing the committed store; an engine of
  // one connection runs them one after another. The review is the same either way: every result
  // lands in its fixed place.
  const size = buildConnections();
  const pool = o.engine.connect && size > 0 ? readPool(o.engine, o.engine, size) : null;
  // What several analyses ask alike is computed once per build (store/build-scope.ts): shared
  // answers, and relations made into tables that every connection of the build reads.
  const shared = buildScope(pool ?? o.engine, o.engine);
  try {
    return await buildDataPartOn(shared, pool !== null, o, scope, now, t);
  } finally {
    await closeBuildScope(shared);
    await pool?.close();
  }
}

async function buildDataPartOn(
  engine: Engine,
  concurrent: boolean,
  o: BuildReviewOptions,
  scope: ProductScope,
  now: Date,
  t: Timings,
): Promise<CachedReviewPart> {
  const together = async <T>(tasks: (() => Promise<T>)[]): Promise<T[]> => {
    if (concurrent) return Promise.all(tasks.map((task) => task()));
    const out: T[] = [];
    for (const task of tasks) out.push(await task());
    return out;
  };
  const months = monthsEndingAt(o.month, REVIEW_MONTHS);
  // What the data covers comes first: metrics are not carried past the data's end, and a month it
  // does not fully cover is judged differently (incomplete-month.ts).
  const ranges = await t.time('data ranges', () => dataRanges(engine));
  const coverage = await t.time('data coverage', () => dataCoverage(engine, { months, ranges, now }));
  const computed = await computeMetrics(
    { engine, config: o.config, product: scope, months, asOf: ranges.last, timings: t },
    { concurrent },
  );
  const metrics = partialMonthChanges(computed, coverage);
  const launchesJudged = () =>
    t.time('launches', () =>
      judgedLaunchesOfReview({ engine, config: o.config, product: scope.name, month: o.month, timings: t }),
    );
  // Beside the dives when queries run side by side; after them (as before) when they cannot.
  const launchesBeside = concurrent ? launchesJudged() : undefined;
  launchesBeside?.catch(() => undefined); // awaited below; a failure is thrown there
  const deepDives = await together(
    DEEP_DIVES.map(
      (dive) => () =>
        t.time(`dive ${dive.id}`, () =>
          dive.run({
            engine,
            config: o.config,
            product: scope,
            month: o.month,
            metrics,
            asOf: ranges.last,
            timings: t,
          }),
        ),
    ),
  );
  const launches = await (launchesBeside ?? launchesJudged());
  const currency = o.config.reporting.currency;
  const judged = await t.time('anomalies', () =>
    monthAnomalies(metrics, o.month, coverage, { ...o.config.anomalies, currency }),
  );
  const anomalies = judged.anomalies;
  if (judged.statement !== null && coverage.statement !== null)
    coverage.statement = `${coverage.statement} ${judged.statement}`;
  const highlights = await t.time('highlights', () =>
    rankHighlights({ metrics, anomalies, deepDives, threshold: o.config.anomalies.threshold, currency }),
  );
  const part: CachedReviewPart = {
    dataCoverage: coverage,
    metrics,
    anomalies,
    deepDives,
    highlights,
    launches,
  };
  return JSON.parse(JSON.stringify(part)) as CachedReviewPart;
}

/**
 * How anomalies were judged. The back-test that measures the detector (recall on planted jumps,
 * false-positive rate, over many seeds) is too slow for every review and is not on its path: it
 * runs on demand (review/anomaly-backtest.ts; docs/analyses.md, "Back-test").
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

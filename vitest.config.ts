import { defineConfig } from 'vitest/config';

/**
 * Two projects: every test on the engines it names (DuckDB, and chdb where a test opens it), and
 * `clickhouse`: the metric, insight and deep-dive tests again with their store answering every read
 * on DuckDB and on a ClickHouse copy (test/helpers/twin.ts), failing where the answers differ.
 */
const TWIN_TESTS = [
  'src/insights/funnel.test.ts',
  'src/insights/retention.test.ts',
  'src/insights/lifecycle.test.ts',
  'src/insights/stickiness.test.ts',
  'src/insights/trends.test.ts',
  'src/insights/experiment.test.ts',
  'src/insights/run.test.ts',
  'src/launches/judge.test.ts',
  'src/launches/uncontrolled.test.ts',
  'src/metrics/usage/usage.test.ts',
  'src/metrics/feedback/feedback.test.ts',
  'src/metrics/revenue/revenue.test.ts',
  'src/analyses/icp.test.ts',
  'src/analyses/dives/churn-reasons.test.ts',
  'src/analyses/dives/icp-vs-non-icp.test.ts',
  'src/analyses/dives/leading-indicators.test.ts',
  'src/analyses/dives/onboarding-funnel.test.ts',
  'src/analyses/dives/top-customers.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'duckdb', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'clickhouse',
          include: TWIN_TESTS,
          env: { SEXTANT_TWIN: 'clickhouse' },
          testTimeout: 300_000,
        },
      },
    ],
  },
});

import { availableParallelism } from 'node:os';
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
    // Two test files at a time, also on a 2-core machine (vitest's default is one fewer than the
    // cores: one file at a time there, a core idle while a test waits on a child process, a server
    // or a database). Most of the suite's time is spent in child processes and DuckDB/chdb calls,
    // which the second core runs beside the first.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    minWorkers: 1,
    // Generous: a timeout is not an assertion, and a CI machine busier than ours runs every step
    // several times slower (a test that passes only on an idle machine is a failing test).
    testTimeout: 180_000,
    hookTimeout: 300_000,
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

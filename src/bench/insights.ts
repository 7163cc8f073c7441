/**
 * Insights benchmark (issue 5): a 5-step ordered funnel and a 12-week retention table over
 * 10M events (1M without `full`), each to run in under 2 s on 2 cores.
 *
 * Funnels are timed on two kinds of data:
 * - the demo company (the review bench's store of the same size): its configured onboarding
 *   funnel, and a stress funnel of its five most frequent events (two thirds of all events);
 * - a synthetic store (below) where the five steps are 62% of all events, spread uniformly.
 *
 * The events are generated set-based inside DuckDB with `range()` (this benchmark is
 * DuckDB-only): 1 person per 50 events, 16 weeks, ~62% of events on the five funnel steps and the
 * rest page views and other noise, uniformly random times, 1,000 organizations. The store is
 * kept under `opts.dir` and reused between runs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_DEFAULTS } from '../demo/generate.js';
import { addMonths, monthEnd, monthsEndingAt } from '../domain/month.js';
import { funnel, type FunnelSpec } from '../insights/funnel.js';
import { retention } from '../insights/retention.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw, sql } from '../store/sql.js';
import { medianSeconds } from './timing.js';
import type { BenchOptions, BenchResult } from './types.js';
import { preparedStore } from './review.js';

const RUNS = 5;
const TARGET_SECONDS = 2;

async function openStore(opts: BenchOptions, events: number): Promise<DuckDbEngine> {
  const file = join(opts.dir, `insights-${events}.duckdb`);
  const fresh = !existsSync(file);
  const e = await DuckDbEngine.open(file);
  await e.migrate();
  const [row] = await e.query<{ n: number }>(raw('SELECT count(*) AS n FROM events'));
  if (fresh || row?.n !== events) {
    opts.log(`   generating ${events.toLocaleString('en')} events…`);
    const t0 = performance.now();
    await e.exec(raw('DELETE FROM events'));
    const persons = Math.max(1, Math.floor(events / 50));
    await e.exec(sql`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization)
      SELECT 'b' || i,
        CASE WHEN r < 0.20 THEN 'step_1' WHEN r < 0.35 THEN 'step_2' WHEN r < 0.47 THEN 'step_3'
             WHEN r < 0.55 THEN 'step_4' WHEN r < 0.62 THEN 'step_5' WHEN r < 0.92 THEN 'pageview' ELSE 'other' END,
        'd' || (i % ${persons}), 'p' || (i % ${persons}),
        TIMESTAMPTZ '2024-01-07 00:00:00+00' + to_seconds(CAST(hash(i * 7 + 1) % (112 * 86400) AS BIGINT)),
        '{}', 'o' || (i % ${persons} % 1000)
      FROM (SELECT i, (hash(i) % 1000000) / 1000000.0 AS r FROM range(${events}) t(i)) g`);
    await e.exec(raw('CHECKPOINT'));
    opts.log(`   generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  await e.exec(raw('SET threads = 2')); // the target machine has 2 cores
  return e;
}

/**
 * On the demo company, over its last 12 months: its onboarding funnel, its five most frequent
 * events as a funnel, and a 12-week retention table of its two most frequent events.
 */
async function demoFunnels(opts: BenchOptions): Promise<BenchResult[]> {
  const size = opts.full ? 10_000_000 : DEMO_DEFAULTS.events;
  const { engine: e, config, month } = await preparedStore(opts.dir, size, opts.log);
  try {
    await e.exec(raw('SET threads = 2'));
    const [row] = await e.query<{ n: bigint }>(raw('SELECT count(*) AS n FROM events'));
    const events = Number(row?.n ?? 0);
    const top = await e.query<{ event: string }>(
      raw('SELECT event FROM events GROUP BY event ORDER BY count(*) DESC, event LIMIT 5'),
    );
    const months = monthsEndingAt(month, 12);
    // dateTo is inclusive (a day): the last day of the review month.
    const last = new Date(Date.parse(`${addMonths(month, 1)}-01T00:00:00Z`) - 86_400_000);
    const range = { dateFrom: `${months[0]}-01`, dateTo: last.toISOString().slice(0, 10) };
    const specs: [string, FunnelSpec][] = [];
    if (config.onboarding && config.onboarding.steps.length > 0) {
      specs.push([
        `onboarding funnel (${config.onboarding.steps.length} steps)`,
        { ...range, steps: config.onboarding.steps, windowSeconds: config.onboarding.windowDays * 86_400 },
      ]);
    }
    specs.push([`funnel of the 5 most frequent events`, { ...range, steps: top.map((t) => t.event) }]);
    const out: BenchResult[] = [];
    for (const [what, spec] of specs) {
      const f = await funnel(e, spec);
      const m = await medianSeconds(RUNS, () => funnel(e, spec));
      const stepEvents = await e.query<{ n: bigint }>(
        sql`SELECT count(*) AS n FROM events WHERE event IN (SELECT unnest(${spec.steps.map(String)}))
          AND timestamp >= ${new Date(`${range.dateFrom}T00:00:00Z`)} AND timestamp < ${monthEnd(month)}`,
      );
      out.push({
        name: `insights: demo ${what}, ${label(events)} events`,
        medianSeconds: m.median,
        runs: RUNS,
        figures: {
          events,
          stepEvents: Number(stepEvents[0]?.n ?? 0),
          cpuSeconds: m.cpuMedian,
          enteredFunnel: f.steps?.[0]?.count ?? 0,
          completedFunnel: f.steps?.[f.steps.length - 1]?.count ?? 0,
        },
        target: `< ${TARGET_SECONDS} s on 2 cores (at 10M)`,
        met: opts.full ? m.median < TARGET_SECONDS : undefined,
      });
    }
    // A 12-week retention table on the two most frequent events (a heavy one: most people, most weeks).
    const retentionSpec = {
      dateTo: range.dateTo,
      targetEvent: top[0]!.event,
      returningEvent: top[1]?.event ?? top[0]!.event,
      period: 'week',
      totalIntervals: 12,
    } as const;
    const r = await retention(e, retentionSpec);
    const rm = await medianSeconds(RUNS, () => retention(e, retentionSpec));
    out.push({
      name: `insights: demo 12-week retention (2 most frequent events), ${label(events)} events`,
      medianSeconds: rm.median,
      runs: RUNS,
      figures: { events, cpuSeconds: rm.cpuMedian, cohorts: r.cohorts?.length ?? 0 },
      target: `< ${TARGET_SECONDS} s on 2 cores (at 10M)`,
      met: opts.full ? rm.median < TARGET_SECONDS : undefined,
    });
    return out;
  } finally {
    await e.close();
  }
}

function label(events: number): string {
  return events >= 1e6 ? `${Math.round(events / 1e5) / 10}M` : events.toLocaleString('en-US');
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  return [...(await demoFunnels(opts)), ...(await synthetic(opts))];
}

async function synthetic(opts: BenchOptions): Promise<BenchResult[]> {
  const events = opts.full ? 10_000_000 : 1_000_000;
  const e = await openStore(opts, events);
  try {
    const funnelSpec = {
      dateFrom: '2024-01-07',
      dateTo: '2024-04-27',
      steps: ['step_1', 'step_2', 'step_3', 'step_4', 'step_5'],
      windowSeconds: 14 * 86_400,
    };
    const f = await funnel(e, funnelSpec); // warm-up, and a sanity figure
    const fm = await medianSeconds(RUNS, () => funnel(e, funnelSpec));
    const retentionSpec = {
      dateTo: '2024-03-30',
      targetEvent: 'step_1',
      returningEvent: 'pageview',
      period: 'week',
      totalIntervals: 12,
    } as const;
    const r = await retention(e, retentionSpec);
    const rm = await medianSeconds(RUNS, () => retention(e, retentionSpec));
    return [
      {
        name: `insights: synthetic 5-step funnel over ${label(events)} events`,
        medianSeconds: fm.median,
        runs: RUNS,
        figures: {
          events,
          cpuSeconds: fm.cpuMedian,
          eventsPerSecond: Math.round(events / fm.median),
          enteredFunnel: f.steps?.[0]?.count ?? 0,
          completedFunnel: f.steps?.[4]?.count ?? 0,
        },
        target: `< ${TARGET_SECONDS} s on 2 cores (at 10M)`,
        met: opts.full ? fm.median < TARGET_SECONDS : undefined,
      },
      {
        name: `insights: synthetic 12-week retention, ${label(events)} events`,
        medianSeconds: rm.median,
        runs: RUNS,
        figures: {
          events,
          cpuSeconds: rm.cpuMedian,
          eventsPerSecond: Math.round(events / rm.median),
          cohorts: r.cohorts?.length ?? 0,
        },
        target: `< ${TARGET_SECONDS} s on 2 cores (at 10M)`,
        met: opts.full ? rm.median < TARGET_SECONDS : undefined,
      },
    ];
  } finally {
    await e.close();
  }
}

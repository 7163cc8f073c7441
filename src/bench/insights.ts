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
import { join as joinPath } from 'node:path';
import { DEMO_DEFAULTS } from '../demo/generate.js';
import { addMonths, monthEnd, monthsEndingAt } from '../domain/month.js';
import { funnel, type FunnelSpec } from '../insights/funnel.js';
import { retention } from '../insights/retention.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import { medianSeconds } from './timing.js';
import type { BenchOptions, BenchResult } from './types.js';
import { preparedStore } from './review.js';

const RUNS = 5;
const TARGET_SECONDS = 2;

async function openStore(opts: BenchOptions, events: number): Promise<DuckDbEngine> {
  const file = joinPath(opts.dir, `insights-${events}.duckdb`);
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

/** Events with their person now, as every analysis reads them (store/events.ts): the references do the same work. */
const EVENTS = raw('events e LEFT JOIN person_overrides o ON o.distinct_id = e.distinct_id');
const PERSON = raw('coalesce(o.person_id, e.person_id)');

/**
 * The same funnel hand-written as an analyst would for DuckDB alone: ASOF joins take, per attempt
 * (every first-step event), the first event of the next step at or after the previous one; an
 * attempt reaches a step within the window from its start; per person the attempt that got
 * furthest (then completed earliest, then started latest); per step the people and the median and
 * average seconds from the previous step. Plain event names and an ordered funnel only: what the
 * synthetic store's funnel is. The ratio to it is what the dialect layer and the general funnel
 * (strict, unordered, exclusions, breakdowns, filters) cost.
 */
export function referenceFunnel(steps: readonly string[], from: Date, end: Date, windowSeconds: number): Sql {
  const n = steps.length;
  // Our own integer constants are written into the text (a bound parameter in a CASE is typed by DuckDB's guess).
  const ev = (k: number) => raw(`e${k}`);
  const t = (k: number) => raw(`t${k}`);
  const stepTables = steps.map(
    (name, k) => sql`${ev(k)} AS (SELECT person_id, epoch(timestamp) AS t FROM ev WHERE event = ${name})`,
  );
  const chain: Sql[] = [sql`a0 AS (SELECT person_id, t AS t0 FROM e0)`];
  for (let k = 1; k < n; k++) {
    // DuckDB's ASOF join matches a NULL probe time (an attempt that stopped) to some event: null it.
    chain.push(sql`${raw(`a${k}`)} AS (SELECT a.*, CASE WHEN a.${t(k - 1)} IS NOT NULL THEN e.t END AS ${t(k)}
      FROM ${raw(`a${k - 1}`)} a
      ASOF LEFT JOIN ${ev(k)} e ON a.person_id = e.person_id AND a.${t(k - 1)} <= e.t)`);
  }
  const reachedCase = sql`CASE ${join(
    Array.from({ length: n - 1 }, (_, i) => n - 1 - i).map(
      (k) => sql`WHEN ${t(k)} - t0 <= ${raw(String(windowSeconds))} THEN ${raw(String(k + 1))} `,
    ),
    '',
  )}ELSE 1 END`;
  const lastAt = sql`CASE ${join(
    Array.from({ length: n - 1 }, (_, i) => n - 1 - i).map(
      (k) => sql`WHEN reached = ${raw(String(k + 1))} THEN ${t(k)} `,
    ),
    '',
  )}ELSE t0 END`;
  const perStep = Array.from({ length: n }, (_, k) =>
    k === 0
      ? sql`count(*) AS c0`
      : sql`count(*) FILTER (WHERE reached > ${raw(String(k))}) AS ${raw(`c${k}`)},
        median(${t(k)} - ${t(k - 1)}) FILTER (WHERE reached > ${raw(String(k))}) AS ${raw(`m${k}`)},
        avg(${t(k)} - ${t(k - 1)}) FILTER (WHERE reached > ${raw(String(k))}) AS ${raw(`v${k}`)}`,
  );
  return sql`WITH ev AS (SELECT ${PERSON} AS person_id, e.timestamp, e.event FROM ${EVENTS}
      WHERE e.event IN (SELECT unnest(${[...steps]})) AND e.timestamp >= ${from} AND e.timestamp < ${end}),
    ${join(stepTables, ', ')}, ${join(chain, ', ')},
    attempts AS (SELECT *, ${reachedCase} AS reached FROM ${raw(`a${n - 1}`)}),
    best AS (SELECT * FROM attempts
      QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY reached DESC, ${lastAt} ASC, t0 DESC) = 1)
    SELECT ${join(perStep)} FROM best`;
}

/**
 * The same recurring retention hand-written for DuckDB: distinct (person, week) of the target
 * event and of the returning event, joined on the person where the return is in a later week, and
 * people counted per cohort week and weeks since. A week is a number: whole days since 1970-01-01
 * plus 4, divided by 7 (weeks start on sunday, the spec's default; week w starts on day 7w − 4).
 */
export function referenceRetention(target: string, returning: string, from: Date, end: Date): Sql {
  const week = raw('(CAST(floor(epoch(e.timestamp) / 86400) AS BIGINT) + 4) // 7');
  return sql`WITH c AS (SELECT DISTINCT ${PERSON} AS person_id, ${week} AS w FROM ${EVENTS}
      WHERE e.event = ${target} AND e.timestamp >= ${from} AND e.timestamp < ${end}),
    r AS (SELECT DISTINCT ${PERSON} AS person_id, ${week} AS w FROM ${EVENTS}
      WHERE e.event = ${returning} AND e.timestamp >= ${from} AND e.timestamp < ${end})
    SELECT w AS cohort, 0 AS n, count(*) AS persons FROM c GROUP BY 1
    UNION ALL
    SELECT c.w, r.w - c.w, count(*) FROM c JOIN r ON r.person_id = c.person_id AND r.w > c.w
    GROUP BY 1, 2`;
}

/** The first day of week number `w` of `referenceRetention`. */
function weekDay(w: number): string {
  return new Date((w * 7 - 4) * 86_400_000).toISOString().slice(0, 10);
}

function label(events: number): string {
  return events >= 1e6 ? `${Math.round(events / 1e5) / 10}M` : events.toLocaleString('en-US');
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  return [...(await demoFunnels(opts)), ...(await synthetic(opts))];
}

export async function synthetic(opts: BenchOptions): Promise<BenchResult[]> {
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

    // The hand-written references on the same store: their answers must be ours, their time the floor.
    const fFrom = new Date(`${funnelSpec.dateFrom}T00:00:00Z`);
    const fEnd = new Date(Date.parse(`${funnelSpec.dateTo}T00:00:00Z`) + 86_400_000);
    const fRef = referenceFunnel(funnelSpec.steps, fFrom, fEnd, funnelSpec.windowSeconds);
    const [fr] = await e.query<Record<string, number>>(fRef);
    const funnelAgrees = (f.steps ?? []).every(
      (st, k) =>
        st.count === Number(fr![`c${k}`]) &&
        (k === 0 ||
          st.count === 0 ||
          (Math.abs((st.medianSecondsFromPrevious ?? NaN) - Number(fr![`m${k}`])) < 1e-6 &&
            Math.abs((st.averageSecondsFromPrevious ?? NaN) - Number(fr![`v${k}`])) < 1e-3)),
    );
    const frm = await medianSeconds(RUNS, () => e.query(fRef));
    const cohorts = r.cohorts ?? [];
    const rFrom = new Date(`${cohorts[0]!.date}T00:00:00Z`);
    const rEnd = new Date(Date.parse(`${cohorts.at(-1)!.date}T00:00:00Z`) + 7 * 86_400_000);
    const rRef = referenceRetention(retentionSpec.targetEvent, retentionSpec.returningEvent, rFrom, rEnd);
    const rr = await e.query<{ cohort: number; n: number; persons: number }>(rRef);
    const refCells = new Map(
      rr.map((x) => [`${weekDay(Number(x.cohort))}|${Number(x.n)}`, Number(x.persons)]),
    );
    const retentionAgrees =
      cohorts.every((c) => c.values.every((v, n) => v === (refCells.get(`${c.date}|${n}`) ?? 0))) &&
      rr.every((x) => Number(x.n) < retentionSpec.totalIntervals);
    const rrm = await medianSeconds(RUNS, () => e.query(rRef));
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
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
      {
        name: `insights: synthetic 5-step funnel vs hand-written SQL (ASOF joins), ${label(events)} events`,
        medianSeconds: fm.median,
        runs: RUNS,
        figures: {
          referenceSeconds: frm.median,
          ratio: ratio(fm.median, frm.median),
          cpuRatio: ratio(fm.cpuMedian, frm.cpuMedian),
          sameAnswer: funnelAgrees ? 1 : 0,
        },
        target: '≤ 1.5× the reference, same counts and times',
        met: funnelAgrees && fm.median <= 1.5 * frm.median,
      },
      {
        name: `insights: synthetic 12-week retention vs hand-written SQL, ${label(events)} events`,
        medianSeconds: rm.median,
        runs: RUNS,
        figures: {
          referenceSeconds: rrm.median,
          ratio: ratio(rm.median, rrm.median),
          cpuRatio: ratio(rm.cpuMedian, rrm.cpuMedian),
          sameAnswer: retentionAgrees ? 1 : 0,
        },
        target: '≤ 1.5× the reference, same table',
        met: retentionAgrees && rm.median <= 1.5 * rrm.median,
      },
    ];
  } finally {
    await e.close();
  }
}

/**
 * The funnel's running counts on DuckDB come from one sort and a streaming window that counts
 * across people (`duckdbDialect.sqlRunningCounts`). This checks that shortcut against the portable
 * per-person spelling (PARTITION BY … ORDER BY … frames) on a data set big enough for DuckDB to
 * sort and stream it in parallel (several row groups, 2 threads): people with one event and
 * people with thousands, ties on the timestamp, every funnel order, a breakdown, an exclusion.
 * Any difference in the number of people per step or in the time between steps fails. Each
 * case is also run with its steps as matchers with an always-true property filter, which takes
 * the general step matching instead of the join with the step names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../store/dialect.js';
import { duckdbDialect } from '../store/duckdb/dialect.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { join, raw, sql } from '../store/sql.js';
import { buildFunnelQuery, parseFunnelSpec, type FunnelSpec } from './funnel.js';

/** The portable spelling: per-partition frames, counts restart for every person. */
const portable: Dialect = {
  ...duckdbDialect,
  sqlRunningCounts(source, partition, order, counts) {
    const cols = counts.map(
      (c) =>
        sql`count(*) FILTER (WHERE ${c.when}) OVER (PARTITION BY ${join(partition)} ORDER BY ${join(order)} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${raw(c.as)}`,
    );
    return cols.length ? sql`SELECT *, ${join(cols)} FROM (${source})` : source;
  },
};

let e: DuckDbEngine;
const EVENTS = 400_000;

beforeAll(async () => {
  e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  await e.exec(raw('SET threads = 2'));
  // Person sizes follow a heavy tail (person i % 97 == 0 gets many more events); timestamps are
  // whole minutes so same-timestamp steps happen often.
  await e.exec(sql`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization)
    SELECT 'x' || i,
      ['A', 'B', 'C', 'D', 'X', 'other'][1 + CAST(hash(i * 3 + 1) % 6 AS INTEGER)],
      'd' || p, 'person-with-a-long-identifier-' || p,
      TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_minutes(CAST(hash(i * 5 + 2) % (30 * 1440) AS BIGINT)),
      '{"plan": "' || ['free', 'pro', 'team'][1 + CAST(hash(i * 7 + 3) % 3 AS INTEGER)] || '"}',
      'o' || (p % 50)
    FROM (SELECT i, CASE WHEN hash(i * 11 + 4) % 4 = 0 THEN (hash(i * 13 + 5) % 40) * 97 ELSE hash(i * 13 + 5) % 8000 END AS p
          FROM range(${EVENTS}) t(i))`);
});
afterAll(async () => {
  await e.close();
});

const base = { dateFrom: '2024-03-01', dateTo: '2024-03-31', windowSeconds: 3 * 86_400 };
const cases: Record<string, FunnelSpec> = {
  ordered: { ...base, steps: ['A', 'B', 'C', 'D'] },
  'one step': { ...base, steps: ['A'] },
  strict: { ...base, steps: ['A', 'B', 'C'], order: 'strict' },
  'ordered, repeated step': { ...base, steps: ['A', 'A', 'B'] },
  'ordered, all_events breakdown': {
    ...base,
    steps: ['A', 'B', 'C'],
    breakdown: { property: 'plan', attribution: 'all_events' },
  },
  'ordered, step attribution': {
    ...base,
    steps: ['A', 'B', 'C'],
    breakdown: { property: 'plan', attribution: 'step', attributionStep: 1 },
  },
  unordered: { ...base, steps: ['A', 'B', 'C'], order: 'unordered' },
  'ordered, exclusion': {
    ...base,
    steps: ['A', 'B', 'C'],
    exclusions: [{ event: 'X', fromStep: 0, toStep: 2 }],
  },
};

/** The same spec with a property filter that every event passes: forces the general step matching. */
function viaMatchers(spec: FunnelSpec): FunnelSpec {
  const always = [{ key: 'no such key', operator: 'is_not' as const, value: 'never' }];
  return {
    ...spec,
    steps: spec.steps.map((m) => (typeof m === 'string' ? { event: m, properties: always } : m)),
    exclusions: (spec.exclusions ?? []).map((x) => ({ ...x, properties: always })),
  };
}

describe('funnel running counts across people (DuckDB streaming shortcut)', () => {
  it('keep the sorted order with many threads (8) as with one', async () => {
    const s = parseFunnelSpec(cases.ordered!);
    const reference = await e.query(buildFunnelQuery(portable, s));
    try {
      for (const threads of [8, 1]) {
        await e.exec(raw(`SET threads = ${threads}`));
        expect(await e.query(buildFunnelQuery(duckdbDialect, s))).toEqual(reference);
      }
    } finally {
      await e.exec(raw('SET threads = 2'));
    }
  });

  it('give the same answer run after run: ties between same-minute chains are broken by the data', async () => {
    // An unordered funnel's chains of one person can share start and end and differ between
    // them; which one a parallel sort met first used to move the medians (1 run in ~24).
    await e.exec(raw('SET threads = 8'));
    try {
      for (const spec of [cases.unordered!, cases.ordered!]) {
        const q = buildFunnelQuery(duckdbDialect, parseFunnelSpec(spec));
        const runs = new Set<string>();
        for (let i = 0; i < 12; i++) runs.add(JSON.stringify(await e.query(q)));
        expect(runs.size).toBe(1);
      }
    } finally {
      await e.exec(raw('SET threads = 2'));
    }
  });

  for (const [name, spec] of Object.entries(cases)) {
    it(`match per-person counts: ${name}`, async () => {
      const s = parseFunnelSpec(spec);
      const fast = await e.query(buildFunnelQuery(duckdbDialect, s));
      const reference = await e.query(buildFunnelQuery(portable, s));
      expect(fast.length).toBeGreaterThan(0);
      expect(Number(fast[0]!.c0)).toBeGreaterThan(100);
      if (spec.steps.length > 1) expect(Number(fast[0]!.c1)).toBeGreaterThan(100); // past the first step
      expect(fast).toEqual(reference);
      // Steps given by bare names take a join with the names; with filters, the general matching.
      const general = await e.query(buildFunnelQuery(duckdbDialect, parseFunnelSpec(viaMatchers(spec))));
      expect(general).toEqual(fast);
    });
  }
});

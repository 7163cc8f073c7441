import { afterEach, describe, expect, it, vi } from 'vitest';
import { engineWith, type TestEvent } from '../../test/helpers/insight-events.js';
import { parseConfig } from '../config/load.js';
import { addTodo } from '../review/decisions.js';
import { buildScope, closeBuildScope } from '../store/build-scope.js';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { judgeLaunch, judgeLaunches, type JudgeOptions } from './judge.js';
import { parseMetricArg } from './metric.js';
import { launchesOfReview } from './review.js';
import type { Launch } from './store.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

const config = parseConfig({});
const opts = (engine: DuckDbEngine): JudgeOptions => ({
  engine,
  config,
  end: new Date('2024-04-01T00:00:00Z'),
  monthStart: new Date('2024-03-01T00:00:00Z'),
});
const launch = (over: Partial<Launch> = {}): Launch => ({
  id: null,
  source: 'config',
  title: 'New search',
  date: '2024-03-04',
  product: 'all',
  flag: 'new-search',
  metrics: [parseMetricArg('search')],
  unit: 'person',
  control: null,
  windowDays: 14,
  ...over,
});

/** `n` people in `variant`, exposed on March 5th; the first `converted` search a day later. */
function arm(variant: string, n: number, converted: number): TestEvent[] {
  const out: TestEvent[] = [];
  for (let i = 0; i < n; i++) {
    const person = `${variant}-${i}`;
    out.push({
      event: '$feature_flag_called',
      person,
      at: '2024-03-05T10:00:00',
      props: { $feature_flag: 'new-search', $feature_flag_response: variant },
    });
    if (i < converted) out.push({ event: 'search', person, at: '2024-03-06T10:00:00' });
  }
  return out;
}

describe('judgeLaunch', () => {
  it('an experiment that moved its metric: verdict and statement with the numbers', async () => {
    e = await engineWith([...arm('control', 200, 20), ...arm('test', 200, 80)]);
    const l = await judgeLaunch(launch(), opts(e));
    expect(l.kind).toBe('experiment');
    expect(l.inMonth).toBe(true);
    const x = l.effects[0]!;
    expect(x).toMatchObject({
      metricId: 'conversion:search',
      variant: 'test',
      method: 'experiment',
      verdict: 'moved',
    });
    expect(x.estimate).toBeCloseTo(3, 12); // 40% against 10%
    expect(x.statement).toMatch(
      /^Moved conversion:search \(test\): \+300% \(95% interval \+\d+% to \+\d+%, against the control\); p = .*chance to beat control 100%\.$/,
    );
    expect(x.evidence).toMatchObject({ exposed: { control: 200, test: 200 }, excluded: 0 });
  });

  it('a broken split reads "split broken", whatever the lift', async () => {
    // 160 against 100 for a 50/50 flag: χ² = 13.8, p = 0.0002.
    e = await engineWith([...arm('control', 160, 16), ...arm('test', 100, 40)]);
    const x = (await judgeLaunch(launch(), opts(e))).effects[0]!;
    expect(x.verdict).toBe('split-broken');
    expect(x.statement).toMatch(
      /^Split broken on conversion:search \(test\): the split is broken: 160 control vs 100 test exposed \(sample ratio mismatch, chi-square p = 2\.\de-4\)/,
    );
  });

  it('says not enough data below 100 units per arm', async () => {
    e = await engineWith([...arm('control', 60, 6), ...arm('test', 60, 30)]);
    const x = (await judgeLaunch(launch(), opts(e))).effects[0]!;
    expect(x.verdict).toBe('not-enough-data');
    expect(x.estimate).toBeNull();
    expect(x.statement).toBe(
      "Not enough data on conversion:search (test): 60 units exposed to 'test', fewer than 100.",
    );
  });

  it('a null experiment: no detectable effect, with the interval', async () => {
    e = await engineWith([...arm('control', 300, 60), ...arm('test', 300, 62)]);
    const x = (await judgeLaunch(launch(), opts(e))).effects[0]!;
    expect(x.verdict).toBe('no-effect');
    expect(x.statement).toMatch(
      /^No detectable effect on conversion:search \(test\): \+3\.3% \(95% interval −\d+% to \+\d+%/,
    );
  });

  it('a flag without a control is a rollout, judged against history (here too short)', async () => {
    e = await engineWith(arm('true', 150, 50));
    const l = await judgeLaunch(launch(), opts(e));
    expect(l.kind).toBe('rollout');
    expect(l.notes[0]).toBe("no control group (variants: true): judged against the metric's history");
    const its = l.effects.find((x) => x.method === 'interrupted-time-series')!;
    expect(its.verdict).toBe('not-enough-data');
    expect(its.statement).toBe(
      'Not enough data on conversion:search: 0 days of history before the launch, need 28.',
    );
    expect(l.notes[1]).toMatch(
      /^newly against not-yet-exposed units \(conversion:search\): .* need 30 each$/,
    );
  });

  it('notes a launch with no metrics, or shipped after the month', async () => {
    e = await engineWith([]);
    expect((await judgeLaunch(launch({ metrics: [] }), opts(e))).notes).toEqual([
      'no metrics named: add the metrics it should move to judge it',
    ]);
    const later = await judgeLaunch(launch({ date: '2024-04-02' }), opts(e));
    expect(later.notes).toEqual(['shipped after the review month']);
    expect(later.effects).toEqual([]);
    const earlier = await judgeLaunch(launch({ date: '2024-01-10', flag: null }), opts(e));
    expect(earlier.inMonth).toBe(false);
    expect(earlier.kind).toBe('launch');
  });
});

describe('launchesOfReview', () => {
  it('shows the launches of the month and the three before, each linked to the to-dos naming it', async () => {
    e = await engineWith([...arm('control', 120, 12), ...arm('test', 120, 36)]);
    const cfg = parseConfig({
      products: [{ name: 'search' }],
      launches: [
        {
          title: 'New search',
          date: '2024-03-04',
          product: 'search',
          flag: 'new-search',
          metrics: ['search'],
        },
        { title: 'Old thing', date: '2023-11-30', metrics: ['search'] }, // four months before: not shown
      ],
    });
    const todo = await addTodo(e, {
      product: 'search',
      month: '2024-02',
      title: 'Launch the new search behind a flag',
      owner: 'ada',
      metricIds: [],
    });
    await addTodo(e, {
      product: 'other',
      month: '2024-02',
      title: 'new search docs',
      owner: null,
      metricIds: [],
    });
    const all = await launchesOfReview({ engine: e, config: cfg, product: 'all', month: '2024-03' });
    expect(all.map((l) => l.title)).toEqual(['New search']);
    expect(all[0]!.effects[0]!.verdict).toBe('moved');
    // The 'all' review links every to-do naming it; the product's review only its own and all's.
    // (by month, product, id)
    expect(all[0]!.todos.map((t) => t.title)).toEqual([
      'new search docs',
      'Launch the new search behind a flag',
    ]);
    const own = await launchesOfReview({ engine: e, config: cfg, product: 'search', month: '2024-03' });
    expect(own[0]!.todos).toEqual([
      { id: todo, month: '2024-02', title: 'Launch the new search behind a flag', status: 'open' },
    ]);
    expect(await launchesOfReview({ engine: e, config: cfg, product: 'search', month: '2024-08' })).toEqual(
      [],
    );
  });
});

/**
 * 400 people use the product every weekday from 2024-01-01 (a Monday) to 2024-04-21 and run 1–3
 * queries a day (plus one on a third of days). The launch is Monday 2024-03-25 (day 84): people
 * with p % 4 = 0, 1, 2 get the flag `fast-queries` on in weeks 0, 1, 2 and run one query a day
 * more from then on; p % 4 = 3 never do. Everyone calls the flag (off) on launch day first.
 */
async function gradualRollout(): Promise<DuckDbEngine> {
  const { DuckDbEngine } = await import('../store/duckdb/engine.js');
  const engine = await DuckDbEngine.open(':memory:');
  await engine.migrate();
  const { raw } = await import('../store/sql.js');
  const day0 = "TIMESTAMPTZ '2024-01-01 00:00:00+00'";
  // DuckDB-only SQL, for test data: every (person, weekday, query slot).
  await engine.exec(
    raw(`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization, source)
      SELECT 'q-' || p || '-' || d || '-' || k, 'query', 'u' || p, 'u' || p,
        ${day0} + to_days(CAST(d AS INTEGER)) + to_hours(10) + to_minutes(CAST(k AS INTEGER)), '{}', NULL, 'test'
      FROM range(400) a(p), range(112) b(d), range(5) c(k)
      WHERE (d % 7) < 5
        AND k < 1 + p % 3 + CASE WHEN (p * 7 + d * 13) % 3 = 0 THEN 1 ELSE 0 END
          + CASE WHEN p % 4 < 3 AND d >= 84 + 7 * (p % 4) THEN 1 ELSE 0 END;
    INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization, source)
      SELECT 'f-' || p || '-' || on_day, '$feature_flag_called', 'u' || p, 'u' || p,
        ${day0} + to_days(CAST(on_day AS INTEGER)) + to_hours(9),
        '{"$feature_flag":"fast-queries","$feature_flag_response":' || (on_day > 84 OR p % 4 = 0) || '}', NULL, 'test'
      FROM (SELECT p, 84 AS on_day FROM range(400) a(p)
            UNION ALL SELECT p, 84 + 7 * (p % 4) FROM range(400) a(p) WHERE p % 4 IN (1, 2))`),
  );
  return engine;
}

const fastQueries = launch({
  title: 'Fast queries',
  date: '2024-03-25',
  flag: 'fast-queries',
  metrics: [parseMetricArg('query:count')],
});

const rolloutOpts = (engine: DuckDbEngine): JudgeOptions => ({
  engine,
  config: parseConfig({}),
  end: new Date('2024-04-22T00:00:00Z'),
  monthStart: new Date('2024-03-01T00:00:00Z'),
});

describe('a gradual rollout without a control', () => {
  it('is judged against its history and against the units not yet exposed', async () => {
    e = await gradualRollout();
    const l = await judgeLaunch(fastQueries, rolloutOpts(e));
    expect(l.kind).toBe('rollout');
    // Half the units first saw `false`, then `true`: a widening rollout, not an experiment.
    expect(l.notes[0]).toMatch(
      /^\d+% of units saw both the control and another variant: judged as a rollout$/,
    );
    const its = l.effects.find((x) => x.method === 'interrupted-time-series')!;
    const did = l.effects.find((x) => x.method === 'not-yet-exposed')!;
    // History: 2.33 queries per person-day. After: +1 for a quarter, half, then three quarters of
    // people in weeks 0, 1, 2–3: +0.5625 a day on average, +24%.
    expect(its.verdict).toBe('moved');
    expect(its.estimate!).toBeGreaterThan(0.2);
    expect(its.estimate!).toBeLessThan(0.28);
    // Newly exposed people run 5 more queries in the week after than in the week before, those
    // not yet exposed as many: +5 a week against about 11.7, +43%.
    expect(did.verdict).toBe('moved');
    expect(did.evidence).toMatchObject({ cohorts: 3, newlyExposed: 300 });
    expect(did.estimate!).toBeGreaterThan(0.38);
    expect(did.estimate!).toBeLessThan(0.48);
    expect(did.interval![0]).toBeLessThan(did.estimate!);
  });
});

describe('judgeLaunches', () => {
  it('reads every flag’s calls once, from a table the build shares, and judges as each launch alone', async () => {
    e = await gradualRollout();
    // A second flag that nobody called: its experiment falls back to `$feature/<flag>`.
    const silent = launch({ title: 'Silent', date: '2024-03-26', flag: 'silent-flag' });
    const alone = [await judgeLaunch(fastQueries, rolloutOpts(e)), await judgeLaunch(silent, rolloutOpts(e))];
    const shared = vi.spyOn(e, 'shareTable');
    const scope = buildScope(e, e);
    try {
      const inBuild = await judgeLaunches([fastQueries, silent], { ...rolloutOpts(e), engine: scope });
      expect(shared.mock.calls.map(([name]) => name)).toEqual([expect.stringMatching(/flag_calls/)]);
      expect(inBuild).toEqual(alone);
      expect(inBuild[0]!.effects.map((x) => x.method)).toEqual([
        'interrupted-time-series',
        'not-yet-exposed',
      ]);
      expect(inBuild[1]!.notes).toEqual([
        "no unit called the flag 'silent-flag' from 2024-03-26 to 2024-04-21",
        'newly against not-yet-exposed units (conversion:search): 0 newly exposed and 0 not-yet-exposed units in usable weeks, need 30 each',
      ]);
    } finally {
      await closeBuildScope(scope);
    }
  });
});

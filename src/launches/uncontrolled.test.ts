import { afterEach, describe, expect, it } from 'vitest';
import { engineWith, type TestEvent } from '../../test/helpers/insight-events.js';
import { parseConfig } from '../config/load.js';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { parseMetricArg } from './metric.js';
import { dailyMetric, lastCompleteWeek, rolloutCohorts } from './uncontrolled.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

const config = parseConfig({});
const ev = (event: string, person: string, at: string, props?: Record<string, unknown>): TestEvent => ({
  event,
  person,
  at,
  ...(props ? { props } : {}),
});
const flag = (person: string, at: string, response: boolean): TestEvent =>
  ev('$feature_flag_called', person, at, { $feature_flag: 'fast', $feature_flag_response: response });

describe('dailyMetric', () => {
  const events = [
    ev('use', 'p1', '2024-03-01T08:00:00'),
    ev('query', 'p1', '2024-03-01T09:00:00', { n: 2 }),
    ev('query', 'p1', '2024-03-01T10:00:00', { n: 3 }),
    ev('query', 'p2', '2024-03-01T23:59:59'),
    flag('p3', '2024-03-01T12:00:00', true), // a flag call is not activity: p3 is not active
    ev('use', 'p1', '2024-03-02T08:00:00'),
  ];
  const scope = (metric: string) => ({
    config,
    product: 'all',
    unit: 'person' as const,
    metric: parseMetricArg(metric),
  });
  const from = new Date('2024-03-01T00:00:00Z');
  const to = new Date('2024-03-04T00:00:00Z');
  const day = (iso: string) => Date.parse(iso + 'T00:00:00Z') / 86_400_000;

  it('divides by the day’s active units, leaving out days with none', async () => {
    e = await engineWith(events);
    // 1st: p1 and p2 active, 3 queries → 1.5; 2nd: p1 active, none → 0; 3rd: nobody, left out.
    expect(await dailyMetric(e, scope('query:count'), from, to)).toEqual([
      { day: day('2024-03-01'), value: 1.5, weight: 2 },
      { day: day('2024-03-02'), value: 0, weight: 1 },
    ]);
    // conversion: both active units queried on the 1st
    expect((await dailyMetric(e, scope('query'), from, to)).map((p) => p.value)).toEqual([1, 0]);
    // sum of n: 2 + 3 (+ nothing for p2's) over 2 units
    expect((await dailyMetric(e, scope('query:sum:n'), from, to)).map((p) => p.value)).toEqual([2.5, 0]);
  });
});

describe('rolloutCohorts', () => {
  // The launch is Monday 2024-03-04: week −1 is Feb 26–Mar 3, week 0 Mar 4–10, 1 Mar 11–17,
  // 2 Mar 18–24, 3 Mar 25–31. Data read to April 1st: week 3 is the last complete one.
  const launch = new Date('2024-03-04T00:00:00Z');
  const end = new Date('2024-04-01T00:00:00Z');
  const q = (person: string, at: string) => ev('query', person, at);
  const use = (person: string, at: string) => ev('use', person, at);
  const events: TestEvent[] = [
    // a: exposed in week 0; queries 1 in week −1, 4 in week 1.
    q('a', '2024-02-27T10:00:00'),
    flag('a', '2024-03-05T10:00:00', true),
    q('a', '2024-03-05T11:00:00'),
    q('a', '2024-03-05T12:00:00'),
    ...[11, 12, 13, 14].map((d) => q('a', `2024-03-${d}T10:00:00`)),
    // b: exposed in week 0; 2 queries in week −1, 2 in week 1.
    q('b', '2024-02-27T10:00:00'),
    q('b', '2024-02-28T10:00:00'),
    use('b', '2024-03-06T09:00:00'),
    flag('b', '2024-03-06T10:00:00', true),
    q('b', '2024-03-12T10:00:00'),
    q('b', '2024-03-13T10:00:00'),
    // c: off until week 2 (a widening rollout); 0 queries in week −1, 1 in week 1, 2 in week 3.
    use('c', '2024-03-05T09:00:00'),
    flag('c', '2024-03-05T09:00:01', false),
    q('c', '2024-03-12T10:00:00'),
    use('c', '2024-03-19T09:00:00'),
    flag('c', '2024-03-19T09:00:01', true),
    q('c', '2024-03-26T10:00:00'),
    q('c', '2024-03-27T10:00:00'),
    // d: never on; active in weeks 0–3: 1 query in week −1, 1 in week 1, 2 in week 3.
    q('d', '2024-02-28T10:00:00'),
    use('d', '2024-03-05T09:00:00'),
    flag('d', '2024-03-05T09:00:01', false),
    q('d', '2024-03-12T10:00:00'),
    use('d', '2024-03-20T09:00:00'),
    q('d', '2024-03-26T10:00:00'),
    q('d', '2024-03-26T11:00:00'),
    // e: never called the flag; 3 queries in week −1 and 3 in week 1.
    ...[26, 27, 28].map((d) => q('e', `2024-02-${d}T10:00:00`)),
    use('e', '2024-03-07T09:00:00'),
    ...[11, 12, 13].map((d) => q('e', `2024-03-${d}T10:00:00`)),
  ];

  it('pairs each week’s newly exposed units with those active then and not yet exposed', async () => {
    e = await engineWith(events);
    expect(lastCompleteWeek(launch, end)).toBe(3);
    const cohorts = await rolloutCohorts(e, {
      config,
      product: 'all',
      unit: 'person',
      metric: parseMetricArg('query:count'),
      flag: 'fast',
      control: 'false',
      launch,
      end,
    });
    expect(cohorts).toEqual([
      {
        week: 0,
        // a: 4 − 1 = 3, b: 2 − 2 = 0; week-1 queries 4 + 2.
        treated: { n: 2, sumDelta: 3, sumDelta2: 9, sumPost: 6 },
        // c (exposed in week 2, later than week 1): 1 − 0; d: 1 − 1; e: 3 − 3.
        notYetTreated: { n: 3, sumDelta: 1, sumDelta2: 1, sumPost: 5 },
      },
      {
        week: 2,
        // c: week 3's 2 − week 1's 1.
        treated: { n: 1, sumDelta: 1, sumDelta2: 1, sumPost: 2 },
        // d, active in week 2: 2 − 1 (a and b were exposed before; e was not active in week 2).
        notYetTreated: { n: 1, sumDelta: 1, sumDelta2: 1, sumPost: 2 },
      },
    ]);
  });
});

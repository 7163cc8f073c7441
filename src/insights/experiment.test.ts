import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { importEvents } from '../ingest/posthog/import-events.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { experiment, type ExperimentSpec } from './experiment.js';
import { engineWith, type TestEvent } from '../../test/helpers/insight-events.js';
import { maybeTwin } from '../../test/helpers/twin.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

const called = (
  person: string,
  at: string,
  variant: string | boolean,
  extra: Partial<TestEvent> = {},
): TestEvent => ({
  event: '$feature_flag_called',
  person,
  at,
  props: { $feature_flag: 'checkout', $feature_flag_response: variant },
  ...extra,
});
const did = (person: string, at: string, props: Record<string, unknown> = {}, event = 'buy'): TestEvent => ({
  event,
  person,
  at,
  props,
});

const spec = (over: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  flag: 'checkout',
  dateFrom: '2024-03-01',
  dateTo: '2024-03-31',
  metric: { event: 'buy', type: 'count' },
  minUnits: 2,
  ...over,
});

describe('experiment: exposure', () => {
  it("takes each person's first flag call and its variant, excludes and counts mixed ones", async () => {
    e = await engineWith([
      called('c1', '2024-03-02T10:00:00', 'control'),
      called('c1', '2024-03-05T10:00:00', 'control'), // a second call: same exposure
      called('c2', '2024-03-02T11:00:00', 'control'),
      called('c2', '2024-03-03T11:00:00', 'control', { distinctId: 'c2-phone' }), // one person, two ids
      called('t1', '2024-03-02T12:00:00', 'test'),
      called('t2', '2024-03-02T13:00:00', 'test'),
      called('m1', '2024-03-02T14:00:00', 'control'),
      called('m1', '2024-03-04T14:00:00', 'test'), // saw both: excluded
      called('x1', '2024-02-20T10:00:00', 'test'), // before dateFrom: not exposed in the range
      {
        event: '$feature_flag_called',
        person: 'o1',
        at: '2024-03-02T10:00:00',
        props: { $feature_flag: 'other', $feature_flag_response: 'test' },
      },
    ]);
    const r = await experiment(e, spec());
    expect(r.exposureSource).toBe('feature_flag_called');
    expect(r.control).toBe('control');
    expect(r.variants.map((v) => [v.key, v.exposed])).toEqual([
      ['control', 2], // c1, c2
      ['test', 2], // t1, t2
    ]);
    expect(r.excluded).toBe(1); // m1
  });

  it('reads boolean flags: `false` is the control', async () => {
    e = await engineWith([
      called('a', '2024-03-02T10:00:00', false),
      called('b', '2024-03-02T10:00:00', false),
      called('c', '2024-03-02T10:00:00', true),
      called('d', '2024-03-02T10:00:00', true),
      did('c', '2024-03-03T10:00:00'),
    ]);
    const r = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' } }));
    expect(r.control).toBe('false');
    expect(r.variants.map((v) => [v.key, v.exposed, v.value])).toEqual([
      ['false', 2, 0],
      ['true', 2, 0.5],
    ]);
  });

  it('falls back to $feature/<flag> properties when the flag was never called', async () => {
    e = await engineWith([
      did('a', '2024-03-02T10:00:00', { '$feature/checkout': 'control' }, 'view'),
      did('a', '2024-03-03T10:00:00', { '$feature/checkout': 'control' }),
      did('b', '2024-03-02T10:00:00', { '$feature/checkout': 'test' }, 'view'),
      did('b', '2024-03-02T11:00:00', { '$feature/checkout': 'test' }),
      did('b', '2024-03-02T12:00:00', { '$feature/checkout': 'test' }),
      did('c', '2024-03-02T10:00:00', {}, 'view'), // never flagged
    ]);
    const r = await experiment(e, spec({ minUnits: 1 }));
    expect(r.exposureSource).toBe('feature_property');
    // a: exposed at its view, 1 buy after; b: 2 buys after.
    expect(r.variants.map((v) => [v.key, v.exposed, v.value])).toEqual([
      ['control', 1, 1],
      ['test', 1, 2],
    ]);
  });

  it('randomizes organizations for a group flag', async () => {
    e = await engineWith([
      called('p1', '2024-03-02T10:00:00', 'control', { org: 'o1' }),
      called('p2', '2024-03-02T11:00:00', 'control', { org: 'o1' }), // same org: one unit
      called('p3', '2024-03-02T10:00:00', 'test', { org: 'o2' }),
      called('p4', '2024-03-02T10:00:00', 'test'), // no organization: not a unit
      did('p2', '2024-03-03T10:00:00', {}),
      { ...did('p2', '2024-03-03T10:00:00', {}), org: 'o1' },
      { ...did('p3', '2024-03-04T10:00:00', {}), org: 'o2' },
      { ...did('p3', '2024-03-05T10:00:00', {}), org: 'o2' },
    ]);
    const r = await experiment(e, spec({ unit: 'organization', minUnits: 1 }));
    expect(r.unit).toBe('organization');
    expect(r.variants.map((v) => [v.key, v.exposed, v.value])).toEqual([
      ['control', 1, 1], // o1: the buy carrying o1 (the other one names no organization)
      ['test', 1, 2],
    ]);
  });

  it('reads the real posthog-js `$feature_flag_called` payloads (fixtures/real/posthog-payloads)', async () => {
    // posthog-js 1.78.5 captured by PostHog's capture service: one person, 14 flags, all `false`.
    e = await DuckDbEngine.open(':memory:');
    await e.migrate();
    const file = fileURLToPath(
      new URL('../../test/fixtures/real/posthog-payloads/decoded_events.jsonl', import.meta.url),
    );
    await importEvents(e, file);
    e = await maybeTwin(e);
    const r = await experiment(e, {
      flag: 'posthog-3000',
      dateFrom: '2023-09-15',
      dateTo: '2023-09-15',
      metric: { event: '$pageview', type: 'count' },
    });
    expect(r.exposureSource).toBe('feature_flag_called');
    expect(r.control).toBe('false');
    expect(r.variants.map((v) => [v.key, v.exposed])).toEqual([['false', 1]]);
    expect(r.notEnoughData).toBe("only the control 'false' was exposed");
  });

  it('says why when nothing can be compared', async () => {
    e = await engineWith([
      called('a', '2024-03-02T10:00:00', 'blue'),
      called('b', '2024-03-02T10:00:00', 'green'),
    ]);
    const none = await experiment(e, spec({ flag: 'nope' }));
    expect(none.notEnoughData).toMatch(/no unit was exposed to 'nope'/);
    expect(none.exposureSource).toBeNull();
    const noControl = await experiment(e, spec());
    expect(noControl.notEnoughData).toMatch(/no control: the variants are blue, green/);
    const named = await experiment(e, spec({ control: 'blue', minUnits: 1 }));
    expect(named.notEnoughData).toBeNull();
    expect(named.variants[0]!.key).toBe('blue');
  });
});

describe('experiment: the metric in the window', () => {
  const events: TestEvent[] = [
    called('c1', '2024-03-10T12:00:00', 'control'),
    called('c2', '2024-03-10T12:00:00', 'control'),
    called('t1', '2024-03-10T12:00:00', 'test'),
    called('t2', '2024-03-10T12:00:00', 'test'),
    did('c1', '2024-03-01T12:00:00', { amount: 5 }), // 9 days before exposure: pre-period
    did('c1', '2024-03-10T12:00:00', { amount: 2 }), // at exposure: counts
    did('c1', '2024-03-24T11:59:59', { amount: 3 }), // last second of the 14-day window
    did('c1', '2024-03-24T12:00:00', { amount: 100 }), // window over
    did('c2', '2024-02-20T12:00:00', { amount: 7 }), // 19 days before: outside the pre-period
    did('t1', '2024-03-12T12:00:00', { amount: 4 }),
    did('t1', '2024-03-20T12:00:00'), // no amount: adds 0 to a sum
    did('t2', '2024-03-18T12:00:00', { amount: 1 }), // day 8
    did('t2', '2024-03-11T12:00:00', { amount: 1 }, 'view'), // another event
  ];

  it('count: events per unit in [exposure, exposure + 14 days)', async () => {
    e = await engineWith(events);
    const r = await experiment(e, spec());
    // control: c1 2, c2 0 → mean 1; test: t1 2, t2 1 → mean 1.5.
    expect(r.variants.map((v) => [v.key, v.value])).toEqual([
      ['control', 1],
      ['test', 1.5],
    ]);
    // By hand, CUPED: pre-period counts x = 1 (c1's buy 9 days before), 0, 0, 0; y = 2, 0, 2, 1.
    // Pooled Var(x) = 0.25, Cov(x, y) = (2 − 1·5/4)/3 = 0.25, θ = 1; adjusted means
    // 1 − (0.5 − 0.25) = 0.75 and 1.5 − (0 − 0.25) = 1.75; lift 1.75/0.75 − 1 = 4/3.
    expect(r.cuped?.theta).toBeCloseTo(1, 12);
    expect(r.variants.map((v) => v.adjustedValue)).toEqual([0.75, 1.75]);
    expect(r.variants[1]!.lift).toBeCloseTo(4 / 3, 12);
    const raw = await experiment(e, spec({ cuped: false }));
    expect(raw.variants[1]!.lift).toBeCloseTo(0.5, 12);
    expect(raw.variants[1]!.adjustedValue).toBeNull();
  });

  it('conversion, sum and retention', async () => {
    e = await engineWith(events);
    const conv = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' } }));
    expect(conv.variants.map((v) => v.value)).toEqual([0.5, 1]); // c1 only; t1, t2
    const sum = await experiment(e, spec({ metric: { event: 'buy', type: 'sum', property: 'amount' } }));
    expect(sum.variants.map((v) => v.value)).toEqual([2.5, 2.5]); // (5 + 0)/2; (4 + 1)/2
    const ret = await experiment(e, spec({ metric: { event: 'buy', type: 'retention', startDay: 7 } }));
    // days 7–13 after exposure: c1 (day 13.99), t1 (day 10), t2 (day 8); c2 nothing.
    expect(ret.variants.map((v) => v.value)).toEqual([0.5, 1]);
    const short = await experiment(e, spec({ windowDays: 3, metric: { event: 'buy', type: 'count' } }));
    expect(short.variants.map((v) => v.value)).toEqual([0.5, 0.5]); // c1 at exposure; t1 day 2
  });

  it('filters metric events by property', async () => {
    e = await engineWith(events);
    const r = await experiment(
      e,
      spec({
        metric: { event: 'buy', type: 'count', properties: [{ key: 'amount', operator: 'gte', value: 3 }] },
      }),
    );
    expect(r.variants.map((v) => v.value)).toEqual([0.5, 0.5]); // c1's 3; t1's 4
  });
});

/** `n` persons per arm, exposed on 2024-03-02; person i of an arm converts when `converts(i)`. */
function armEvents(
  variant: string,
  n: number,
  converts: (i: number) => boolean,
  pre?: (i: number) => number,
): TestEvent[] {
  const out: TestEvent[] = [];
  for (let i = 0; i < n; i++) {
    const p = `${variant}-${i}`;
    out.push(called(p, '2024-03-02T10:00:00', variant));
    if (converts(i)) out.push(did(p, '2024-03-03T10:00:00'));
    for (let k = 0; k < (pre?.(i) ?? 0); k++) out.push(did(p, '2024-02-25T10:00:00'));
  }
  return out;
}

describe('experiment: statistics from the store', () => {
  it('compares conversions as the stats library does (100/1,000 vs 130/1,000)', async () => {
    e = await engineWith([
      ...armEvents('control', 1000, (i) => i < 100),
      ...armEvents('test', 1000, (i) => i < 130),
    ]);
    const r = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' }, minUnits: 100 }));
    const t = r.variants[1]!;
    expect(t.value).toBeCloseTo(0.13, 12);
    expect(t.lift).toBeCloseTo(0.3, 12);
    expect(t.pValue!).toBeCloseTo(0.036446, 4); // scipy, log-scale delta method
    expect(Math.abs(t.chanceToBeatControl! - 0.98217)).toBeLessThan(0.012); // closed form
    expect(r.cuped).toBeNull(); // nobody converted before: the pre-period never varies
    expect(r.srm).toMatchObject({ pValue: 1, flagged: false });
  });

  it('flags a 60/40 split of a 50/50 flag at n = 2,000, not a 50/50 one', async () => {
    e = await engineWith([
      ...armEvents('control', 1200, (i) => i % 10 === 0),
      ...armEvents('test', 800, (i) => i % 10 === 0),
    ]);
    const broken = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' } }));
    expect(broken.srm.flagged).toBe(true);
    expect(broken.srm.statistic).toBeCloseTo(80, 9);
    // Planned 60/40, the same counts are fine.
    const planned = await experiment(
      e,
      spec({ metric: { event: 'buy', type: 'conversion' }, split: { control: 60, test: 40 } }),
    );
    expect(planned.srm).toMatchObject({ pValue: 1, flagged: false });
    await expect(
      experiment(e, spec({ metric: { event: 'buy', type: 'conversion' }, split: { control: 1 } })),
    ).rejects.toThrow(/field 'split'.*variant 'test'/);
    await e.close();
    e = await engineWith([
      ...armEvents('control', 1000, (i) => i % 10 === 0),
      ...armEvents('test', 1000, (i) => i % 10 === 0),
    ]);
    const even = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' } }));
    expect(even.srm).toMatchObject({ pValue: 1, flagged: false });
  });

  it("applies CUPED with each unit's pre-exposure value of the same metric", async () => {
    // Units that bought before buy after (correlated): CUPED shrinks the interval.
    const converts = (i: number) => i % 3 === 0;
    e = await engineWith([
      ...armEvents('control', 300, converts, (i) => (converts(i) ? 1 : 0)),
      ...armEvents(
        'test',
        300,
        (i) => converts(i) || i % 7 === 0,
        (i) => (converts(i) ? 1 : 0),
      ),
    ]);
    const on = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' } }));
    const off = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' }, cuped: false }));
    expect(on.cuped!.varianceReduction).toBeGreaterThan(0.5);
    expect(on.method).toMatch(/CUPED/);
    const width = (r: typeof on) => r.variants[1]!.liftInterval![1] - r.variants[1]!.liftInterval![0];
    expect(width(on)).toBeLessThan(0.8 * width(off));
    expect(off.method).toMatch(/Beta-binomial/);
  });

  it('is not enough data below the minimum sample', async () => {
    e = await engineWith([
      ...armEvents('control', 120, (i) => i < 10),
      ...armEvents('test', 60, (i) => i < 10),
    ]);
    const r = await experiment(e, spec({ metric: { event: 'buy', type: 'conversion' }, minUnits: 100 }));
    expect(r.variants[1]).toMatchObject({ exposed: 60, lift: null, pValue: null });
    expect(r.variants[1]!.notEnoughData).toMatch(/60 units exposed to 'test', fewer than 100/);
  });

  it('rejects a bad spec naming the field', async () => {
    e = await engineWith([]);
    await expect(experiment(e, spec({ metric: { event: 'buy', type: 'sum' } }))).rejects.toThrow(
      /field 'metric.property'/,
    );
    await expect(experiment(e, { ...spec(), colour: 1 } as ExperimentSpec)).rejects.toThrow(
      /unknown key 'colour'/,
    );
    await expect(experiment(e, spec({ windowDays: 0 }))).rejects.toThrow(/field 'windowDays'/);
  });
});

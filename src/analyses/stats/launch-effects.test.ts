import { describe, expect, it } from 'vitest';
import {
  interruptedTimeSeries,
  staggeredDid,
  type DayValue,
  type DidCohort,
  type DidGroup,
} from './launch-effects.js';
import { normalDeviate, prng } from './random.js';

const LAUNCH = 20_000; // 2024-10-04, a Friday
const WEEKLY = [3, 10, 11, 12, 11, 10, 4]; // Sunday … Saturday

/** 20 + a trend of 0.05/day + the weekly pattern + `noise(i)`, plus `jump` from the launch on. */
function series(preDays: number, postDays: number, jump: number, noise: (i: number) => number): DayValue[] {
  const out: DayValue[] = [];
  for (let i = 0; i < preDays + postDays; i++) {
    const day = LAUNCH - preDays + i;
    const w = (((day + 4) % 7) + 7) % 7;
    const v = 20 + 0.05 * (day - LAUNCH) + WEEKLY[w]! + noise(i) + (day >= LAUNCH ? jump : 0);
    out.push({ day, value: v });
  }
  return out;
}

describe('interruptedTimeSeries', () => {
  it('matches a least-squares fit done independently (numpy) on a fixed series', () => {
    // Deterministic wiggle ((7919·i mod 13) − 6)/10; a jump of 2 from the launch on.
    const r = interruptedTimeSeries(
      series(56, 14, 2, (i) => (((i * 7919) % 13) - 6) / 10),
      LAUNCH,
    );
    if (r.notEnoughData) throw new Error(r.reason);
    // numpy lstsq on the same design: gap 2.022109, se 0.183945 (r₁ 0.177137), projected level
    // 29.031463, relative interval [0.056913, 0.082392], p 1.04e-14.
    expect(r.absolute).toBeCloseTo(2.022109, 5);
    expect(r.autocorrelation).toBeCloseTo(0.177137, 5);
    expect(r.counterfactual).toBeCloseTo(29.031463, 5);
    expect(r.relativeInterval[0]).toBeCloseTo(0.056913, 5);
    expect(r.relativeInterval[1]).toBeCloseTo(0.082392, 5);
    expect(r.pValue).toBeLessThan(1e-12);
    expect([r.preDays, r.postDays, r.degreesOfFreedom]).toEqual([56, 14, 48]);
  });

  it('recovers a planted jump on noisy data and covers zero without one (200 seeded series each)', () => {
    let covered = 0;
    let detected = 0;
    for (let s = 0; s < 200; s++) {
      // AR(1) noise, φ = 0.3, sd 1: the autocorrelation correction has something to correct.
      const noise = (seed: number) => {
        const rand = prng(seed);
        let prev = 0;
        return () => (prev = 0.3 * prev + normalDeviate(rand));
      };
      const null0 = interruptedTimeSeries(series(56, 21, 0, noise(s)), LAUNCH);
      const jump = interruptedTimeSeries(series(56, 21, 3, noise(10_000 + s)), LAUNCH);
      if (null0.notEnoughData || jump.notEnoughData) throw new Error('unexpected');
      if (null0.absoluteInterval[0] <= 0 && null0.absoluteInterval[1] >= 0) covered++;
      if (jump.absoluteInterval[0] > 0) detected++;
    }
    // A 95% interval: Binomial(200, 0.95) puts 95% of runs in 184–196; the jump is ~3 noise SDs.
    expect(covered).toBeGreaterThanOrEqual(182);
    expect(detected).toBeGreaterThanOrEqual(180);
  });

  it('cannot separate a small change from trend and noise: the interval holds 0', () => {
    const rand = prng(5);
    const r = interruptedTimeSeries(
      series(56, 14, 0.3, () => 3 * normalDeviate(rand)),
      LAUNCH,
    );
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.relativeInterval[0]).toBeLessThan(0);
    expect(r.relativeInterval[1]).toBeGreaterThan(0);
    expect(r.pValue).toBeGreaterThan(0.05);
  });

  it('fits a product nobody uses at weekends (no weekend days at all)', () => {
    const weekdays = series(84, 28, 2, (i) => (((i * 7919) % 13) - 6) / 10).filter((p) => {
      const w = (((p.day + 4) % 7) + 7) % 7;
      return w !== 0 && w !== 6;
    });
    const r = interruptedTimeSeries(weekdays, LAUNCH);
    if (r.notEnoughData) throw new Error(r.reason);
    expect([r.preDays, r.postDays, r.degreesOfFreedom]).toEqual([60, 20, 54]); // 6 regressors
    expect(r.absolute).toBeGreaterThan(1.5);
    expect(r.absolute).toBeLessThan(2.5);
  });

  it('needs four weeks before and one after', () => {
    const short = interruptedTimeSeries(
      series(27, 14, 0, () => 0),
      LAUNCH,
    );
    expect(short.notEnoughData && short.reason).toBe('27 days of history before the launch, need 28');
    const soon = interruptedTimeSeries(
      series(56, 6, 0, () => 0),
      LAUNCH,
    );
    expect(soon.notEnoughData && soon.reason).toBe('6 days after the launch, need 7');
  });
});

function group(deltas: readonly number[], posts: readonly number[]): DidGroup {
  return {
    n: deltas.length,
    sumDelta: deltas.reduce((s, d) => s + d, 0),
    sumDelta2: deltas.reduce((s, d) => s + d * d, 0),
    sumPost: posts.reduce((s, p) => s + p, 0),
  };
}

describe('staggeredDid', () => {
  it('weights each weekly cohort by its size (hand-computed)', () => {
    // Week 1: 40 treated with Δ = 2 or 4 (mean 3), 60 not yet with Δ = 0 or 2 (mean 1): DiD 2.
    // Week 2: 20 treated, Δ mean 5; 40 not yet, Δ mean 1: DiD 4. ATT = (40·2 + 20·4)/60 = 8/3.
    const alt = (n: number, a: number, b: number) => Array.from({ length: n }, (_, i) => (i % 2 ? a : b));
    const cohorts: DidCohort[] = [
      { week: 1, treated: group(alt(40, 2, 4), alt(40, 10, 10)), notYetTreated: group(alt(60, 0, 2), []) },
      { week: 2, treated: group(alt(20, 4, 6), alt(20, 13, 13)), notYetTreated: group(alt(40, 0, 2), []) },
    ];
    const r = staggeredDid(cohorts);
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.absolute).toBeCloseTo(8 / 3, 12);
    // Treated post level (40·10 + 20·13)/60 = 11; counterfactual 11 − 8/3 = 25/3; lift 0.32.
    expect(r.observed).toBeCloseTo(11, 12);
    expect(r.relative).toBeCloseTo(0.32, 12);
    // Var = (2/3)²(1.0256/40 + 1.0169/60) + (1/3)²(1.0526/20 + 1.0256/40): s² of ±1 around the mean.
    const v = (4 / 9) * (40 / 39 / 40 + 60 / 59 / 60) + (1 / 9) * (20 / 19 / 20 + 40 / 39 / 40);
    expect(r.absoluteInterval[1] - r.absolute).toBeCloseTo(1.959964 * Math.sqrt(v), 5);
    expect([r.cohorts, r.treatedUnits, r.controlUnits]).toEqual([2, 60, 100]);
  });

  it('recovers a rollout effect over a common trend, and covers zero without one', () => {
    let covered = 0;
    let found = 0;
    for (let s = 0; s < 100; s++) {
      const rand = prng(s);
      const cohorts = (effect: number): DidCohort[] =>
        [1, 2, 3].map((week) => {
          // Every unit's level differs; all rise by a common 0.5 a week; the treated by `effect` more.
          const unit = (treated: boolean) => {
            const level = 5 + 2 * normalDeviate(rand);
            const pre = level + normalDeviate(rand);
            const post = level + 1 + (treated ? effect : 0) + normalDeviate(rand);
            return [post - pre, post] as const;
          };
          const t = Array.from({ length: 50 }, () => unit(true));
          const c = Array.from({ length: 150 }, () => unit(false));
          return {
            week,
            treated: group(
              t.map((x) => x[0]),
              t.map((x) => x[1]),
            ),
            notYetTreated: group(
              c.map((x) => x[0]),
              c.map((x) => x[1]),
            ),
          };
        });
      const none = staggeredDid(cohorts(0));
      const some = staggeredDid(cohorts(0.6));
      if (none.notEnoughData || some.notEnoughData) throw new Error('unexpected');
      if (none.absoluteInterval[0] <= 0 && none.absoluteInterval[1] >= 0) covered++;
      if (some.absoluteInterval[0] > 0) found++;
    }
    expect(covered).toBeGreaterThanOrEqual(89); // Binomial(100, 0.95): 95% of runs ≥ 91
    expect(found).toBeGreaterThanOrEqual(90); // 0.6 is ~3.7 standard errors
  });

  it('is not enough data with few units', () => {
    const r = staggeredDid([
      { week: 1, treated: group([1, 2, 3], [1, 1, 1]), notYetTreated: group([0, 1], [1, 1]) },
    ]);
    expect(r.notEnoughData && r.reason).toMatch(/3 newly exposed and 2 not-yet-exposed units/);
  });
});

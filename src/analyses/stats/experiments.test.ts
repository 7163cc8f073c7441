import { describe, expect, it } from 'vitest';
import {
  analyzeExperiment,
  comparePosteriors,
  cupedAdjust,
  moments,
  relativeLift,
  sampleRatioMismatch,
  type ArmInput,
  type ArmStats,
} from './experiments.js';
import { betaCdf, gammaCdf, logBeta, normalCdf } from './jstat.js';
import { normalDeviate, prng } from './random.js';

/**
 * References: closed forms (Evan Miller's sum for two Beta posteriors, Φ for two normals) and
 * numerical integration done independently with scipy 1.17 (`integrate.quad` of
 * f_c(x)·F_v((1 + q)x) for the lift's quantiles). The posterior draws are seeded, so each result is
 * fixed; the tolerances are about four Monte Carlo standard errors of 20,000 draws
 * (√(p(1 − p)/20000) ≤ 0.0035 for a probability).
 */
const MC = 0.012;

/** Evan Miller, "Formulas for Bayesian A/B testing": P(p_B > p_A) for Beta posteriors, exactly. */
function betaChanceExact(aA: number, bA: number, aB: number, bB: number): number {
  let total = 0;
  for (let i = 0; i < aB; i++) {
    total += Math.exp(logBeta(aA + i, bA + bB) - Math.log(bB + i) - logBeta(1 + i, bB) - logBeta(aA, bA));
  }
  return total;
}

/** ∫ f_c(x)·F_v((1 + q)x) dx by Simpson's rule: P(lift ≤ q) for independent positive posteriors. */
function liftCdf(
  cdfC: (x: number) => number,
  cdfV: (x: number) => number,
  lo: number,
  hi: number,
  q: number,
): number {
  const steps = 4000;
  const h = (hi - lo) / steps;
  let total = 0;
  for (let i = 0; i < steps; i++) {
    // P over the slice of the control's mass, times the variant's CDF at its midpoint.
    const a = lo + i * h;
    const mass = cdfC(a + h) - cdfC(a);
    total += mass * cdfV((1 + q) * (a + h / 2));
  }
  return total;
}

describe('Beta-binomial (conversions)', () => {
  // control 100 of 1,000 converted, variant 130 of 1,000: Beta(101, 901) and Beta(131, 871).
  const [r] = comparePosteriors([
    { model: 'beta', alpha: 101, beta: 901 },
    { model: 'beta', alpha: 131, beta: 871 },
  ]);

  it('chance to beat control matches the closed form within Monte Carlo error', () => {
    const exact = betaChanceExact(101, 901, 131, 871);
    expect(exact).toBeCloseTo(0.98217, 4); // scipy quad: 0.9821651
    expect(Math.abs(r!.chanceToBeatControl - exact)).toBeLessThan(MC);
  });

  it('the credible interval of the lift has 2.5% of the posterior on each side', () => {
    const [lo, hi] = r!.credibleInterval;
    // scipy: quantiles of p_v/p_c − 1 are 0.01757, 0.29795 (median), 0.66105.
    expect(lo).toBeCloseTo(0.0176, 1);
    expect(hi).toBeCloseTo(0.661, 1);
    const cdf = (q: number) =>
      liftCdf(
        (x) => betaCdf(x, 101, 901),
        (x) => betaCdf(x, 131, 871),
        0,
        0.3,
        q,
      );
    expect(Math.abs(cdf(lo) - 0.025)).toBeLessThan(0.005);
    expect(Math.abs(cdf(hi) - 0.975)).toBeLessThan(0.005);
    expect(Math.abs(r!.medianLift - 0.29795)).toBeLessThan(0.01);
  });

  it('is the same on every run (seeded) and changes with the seed', () => {
    const p = [
      { model: 'beta' as const, alpha: 11, beta: 91 },
      { model: 'beta' as const, alpha: 14, beta: 88 },
    ];
    expect(comparePosteriors(p)).toEqual(comparePosteriors(p));
    expect(comparePosteriors(p, { seed: 7 })[0]!.chanceToBeatControl).not.toBe(
      comparePosteriors(p)[0]!.chanceToBeatControl,
    );
  });
});

describe('Gamma-Poisson (counts)', () => {
  // control 1,000 events over 500 units, variant 1,080 over 500: Gamma(1001, 501), Gamma(1081, 501).
  const [r] = comparePosteriors([
    { model: 'gamma', shape: 1001, rate: 501 },
    { model: 'gamma', shape: 1081, rate: 501 },
  ]);

  it('chance to beat control and the lift interval match numerical integration', () => {
    expect(Math.abs(r!.chanceToBeatControl - 0.96027)).toBeLessThan(MC); // scipy quad
    const [lo, hi] = r!.credibleInterval;
    expect(Math.abs(lo - -0.009)).toBeLessThan(0.006); // scipy: −0.008996
    expect(Math.abs(hi - 0.17698)).toBeLessThan(0.006); // scipy: 0.176984
    const cdf = (q: number) =>
      liftCdf(
        (x) => gammaCdf(x, 1001, 501),
        (x) => gammaCdf(x, 1081, 501),
        1.5,
        2.5,
        q,
      );
    expect(Math.abs(cdf(lo) - 0.025)).toBeLessThan(0.005);
    expect(Math.abs(cdf(hi) - 0.975)).toBeLessThan(0.005);
  });
});

describe('normal (means)', () => {
  it('chance to beat control is Φ(Δ / √(σc² + σv²)) within Monte Carlo error', () => {
    const [r] = comparePosteriors([
      { model: 'normal', mean: 10, sd: 0.5 },
      { model: 'normal', mean: 11, sd: 0.6 },
    ]);
    const exact = normalCdf(1 / Math.sqrt(0.25 + 0.36)); // 0.89979
    expect(Math.abs(r!.chanceToBeatControl - exact)).toBeLessThan(MC);
    // scipy: the lift's 2.5% and 97.5% quantiles are −0.04999 and 0.27132.
    expect(Math.abs(r!.credibleInterval[0] - -0.04999)).toBeLessThan(0.008);
    expect(Math.abs(r!.credibleInterval[1] - 0.27132)).toBeLessThan(0.008);
  });
});

describe('relativeLift (Welch t, delta method)', () => {
  it('matches a hand-computed case', () => {
    // control 1, 2, 3, 4 (mean 2.5, s² 5/3); variant 2, 3, 4, 5 (mean 3.5, s² 5/3). lift 0.4.
    // Log scale: Var = (5/12)/3.5² + (5/12)/2.5² = 0.100680, se 0.317302; Welch df 5.428949;
    // exp(ln 1.4 ± t·se) − 1 = [−0.368823, 2.105311]; p = 2·P(T > 1.060420) = 0.333835 (scipy).
    const r = relativeLift(moments(4, 10, 30), moments(4, 14, 54));
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.lift).toBeCloseTo(0.4, 12);
    expect(r.scale).toBe('log');
    expect(r.standardError).toBeCloseTo(0.317302, 6);
    expect(r.degreesOfFreedom).toBeCloseTo(5.428949, 5);
    expect(r.interval[0]).toBeCloseTo(-0.368823, 5);
    expect(r.interval[1]).toBeCloseTo(2.105311, 5);
    expect(r.pValue).toBeCloseTo(0.333835, 5);
  });

  it('agrees with the two-proportion test on conversions (p 0.0364 vs z-test 0.035)', () => {
    // 100/1,000 vs 130/1,000: scipy gives p = 0.036446 and a lower bound 0.016705 on the log scale.
    const r = relativeLift(moments(1000, 100, 100), moments(1000, 130, 130));
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.pValue).toBeCloseTo(0.036446, 5);
    expect(r.interval[0]).toBeCloseTo(0.016705, 5);
  });

  it("falls back to the linear delta method when the variant's mean is not positive", () => {
    // control 1, 2, 3, 4 (mean 2.5, s² 5/3); variant −1, −1, 0, 0 (a CUPED-adjusted metric can be
    // negative: mean −0.5, s² 1/3). lift −1.2; Var = (1/12)/2.5² + 0.5²·(5/12)/2.5⁴ = 0.016.
    const r = relativeLift(moments(4, 10, 30), moments(4, -2, 2));
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.scale).toBe('linear');
    expect(r.lift).toBeCloseTo(-1.2, 12);
    expect(r.standardError).toBeCloseTo(Math.sqrt(0.016), 12);
  });

  it('says why when it cannot compute', () => {
    expect(relativeLift(moments(1, 1, 1), moments(5, 5, 5)).notEnoughData).toBe(true);
    const zero = relativeLift(moments(10, 0, 0), moments(10, 3, 3));
    expect(zero.notEnoughData && zero.reason).toMatch(/control's mean is 0/);
    const flat = relativeLift(moments(10, 10, 10), moments(10, 10, 10));
    expect(flat.notEnoughData && flat.reason).toMatch(/does not vary/);
  });
});

/** Per-unit (x, y) pairs summed into an arm. */
function arm(pairs: readonly (readonly [number, number])[]): ArmStats {
  const a = { n: 0, sumY: 0, sumY2: 0, sumX: 0, sumX2: 0, sumXY: 0 };
  for (const [x, y] of pairs) {
    a.n++;
    a.sumY += y;
    a.sumY2 += y * y;
    a.sumX += x;
    a.sumX2 += x * x;
    a.sumXY += x * y;
  }
  return a;
}

/** A simulated experiment: x ~ N(10, 3), y = 10 + ρ-weighted x noise + N(0, 1)·…, plus `effect` in the variant. */
function simulate(seed: number, n: number, correlated: boolean, effect: number): ArmStats[] {
  const rand = prng(seed);
  return [0, 1].map((k) => {
    const pairs: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const x = 10 + 3 * normalDeviate(rand);
      const noise = normalDeviate(rand);
      const y = correlated ? x + noise : 10 + Math.sqrt(10) * noise;
      pairs.push([x, y + (k === 1 ? effect : 0)]);
    }
    return arm(pairs);
  });
}

describe('CUPED', () => {
  it('θ is the pooled regression slope of y on x (hand-computed)', () => {
    // Pooled x = 1, 2, 3, 4, y = 2, 4, 5, 8: Cov = 3.1667, Var(x) = 1.6667, θ = 1.9.
    const c = cupedAdjust([
      arm([
        [1, 2],
        [2, 4],
      ]),
      arm([
        [3, 5],
        [4, 8],
      ]),
    ])!;
    expect(c.theta).toBeCloseTo(1.9, 12);
    // Arm means move by θ(x̄ − x̄_all): 3 − 1.9·(1.5 − 2.5) = 4.9 and 6.5 − 1.9·(3.5 − 2.5) = 4.6.
    expect(c.arms[0]!.mean).toBeCloseTo(4.9, 12);
    expect(c.arms[1]!.mean).toBeCloseTo(4.6, 12);
  });

  it('cuts the variance by about ρ² on correlated pre-period data, keeping the estimate', () => {
    // y = x + N(0, 1), Var(x) = 9: ρ² = 9/10.
    const arms = simulate(11, 2000, true, 0.5);
    const c = cupedAdjust(arms)!;
    expect(c.varianceReduction).toBeGreaterThan(0.85);
    expect(c.varianceReduction).toBeLessThan(0.95);
    const raw = relativeLift(
      moments(arms[0]!.n, arms[0]!.sumY, arms[0]!.sumY2),
      moments(arms[1]!.n, arms[1]!.sumY, arms[1]!.sumY2),
    );
    const adj = relativeLift(c.arms[0]!, c.arms[1]!);
    if (raw.notEnoughData || adj.notEnoughData) throw new Error('unexpected');
    const width = (r: typeof adj) => r.interval[1] - r.interval[0];
    expect(width(adj) / width(raw)).toBeLessThan(0.4); // √0.1 ≈ 0.32
    expect(Math.abs(adj.lift - 0.05)).toBeLessThan(2 * adj.standardError); // true lift 0.5/10
  });

  it('changes nothing that matters on uncorrelated data', () => {
    const arms = simulate(12, 2000, false, 0.5);
    const c = cupedAdjust(arms)!;
    expect(Math.abs(c.correlation)).toBeLessThan(0.05);
    expect(c.varianceReduction).toBeLessThan(0.005);
    const raw = relativeLift(
      moments(arms[0]!.n, arms[0]!.sumY, arms[0]!.sumY2),
      moments(arms[1]!.n, arms[1]!.sumY, arms[1]!.sumY2),
    );
    const adj = relativeLift(c.arms[0]!, c.arms[1]!);
    if (raw.notEnoughData || adj.notEnoughData) throw new Error('unexpected');
    expect(adj.standardError / raw.standardError).toBeGreaterThan(0.995);
    expect(adj.standardError / raw.standardError).toBeLessThan(1.005);
    expect(Math.abs(adj.lift - raw.lift)).toBeLessThan(0.1 * raw.standardError);
  });

  it('keeps the 95% interval honest: covers a zero effect in about 95% of 400 null experiments', () => {
    let covered = 0;
    for (let s = 0; s < 400; s++) {
      const c = cupedAdjust(simulate(1000 + s, 200, true, 0))!;
      const r = relativeLift(c.arms[0]!, c.arms[1]!);
      if (!r.notEnoughData && r.interval[0] <= 0 && r.interval[1] >= 0) covered++;
    }
    // Binomial(400, 0.95): 95% of runs fall within 371–389.
    expect(covered).toBeGreaterThanOrEqual(368);
    expect(covered).toBeLessThanOrEqual(392);
  });

  it('does not apply without a pre-period or when x never varies', () => {
    expect(cupedAdjust([{ n: 10, sumY: 5, sumY2: 5 }, arm([[0, 1]])])).toBeNull();
    const flat = cupedAdjust([
      arm([
        [0, 1],
        [0, 0],
      ]),
      arm([
        [0, 1],
        [0, 1],
      ]),
    ])!;
    expect(flat.theta).toBe(0);
    expect(flat.varianceReduction).toBe(0);
  });
});

describe('sample ratio mismatch', () => {
  it('flags a 60/40 split of a 50/50 flag at n = 2,000', () => {
    const r = sampleRatioMismatch([1200, 800]);
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.statistic).toBeCloseTo(80, 9); // (200² / 1000) · 2
    expect(r.pValue).toBeLessThan(1e-15); // scipy.stats.chisquare: 3.74e-19 (floored at 1e-16 here)
    expect(r.flagged).toBe(true);
  });

  it('does not flag a 50/50 split, nor ordinary noise', () => {
    const even = sampleRatioMismatch([1000, 1000]);
    if (even.notEnoughData) throw new Error(even.reason);
    expect(even.pValue).toBe(1);
    expect(even.flagged).toBe(false);
    const noise = sampleRatioMismatch([1030, 970]); // χ² = 1.8, p = 0.1797
    if (noise.notEnoughData) throw new Error(noise.reason);
    expect(noise.pValue).toBeCloseTo(0.17971, 4);
    expect(noise.flagged).toBe(false);
  });

  it('uses planned shares and any number of arms', () => {
    const r = sampleRatioMismatch([340, 330, 330]); // scipy: χ² 0.2, p 0.904837
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.degreesOfFreedom).toBe(2);
    expect(r.pValue).toBeCloseTo(0.904837, 5);
    const planned = sampleRatioMismatch([900, 100], [9, 1]);
    if (planned.notEnoughData) throw new Error(planned.reason);
    expect(planned.pValue).toBe(1);
    expect(
      sampleRatioMismatch([900, 100]).notEnoughData === false && sampleRatioMismatch([900, 100]),
    ).toMatchObject({
      flagged: true,
    });
  });

  it('needs two arms and some units', () => {
    expect(sampleRatioMismatch([10]).notEnoughData).toBe(true);
    expect(sampleRatioMismatch([0, 0]).notEnoughData).toBe(true);
  });
});

describe('analyzeExperiment', () => {
  const conv = (key: string, n: number, conversions: number): ArmInput => ({
    key,
    n,
    sumY: conversions,
    sumY2: conversions,
  });

  it('puts the control first and compares every other arm with it', () => {
    const a = analyzeExperiment(
      'conversion',
      [conv('test', 1000, 130), conv('control', 1000, 100), conv('other', 1000, 100)],
      'control',
    );
    expect(a.arms.map((x) => x.key)).toEqual(['control', 'test', 'other']);
    expect(a.arms[0]).toMatchObject({ value: 0.1, lift: null, chanceToBeatControl: null });
    const t = a.arms[1]!;
    expect(t.value).toBeCloseTo(0.13, 12);
    expect(t.lift).toBeCloseTo(0.3, 12);
    expect(Math.abs(t.chanceToBeatControl! - 0.9822)).toBeLessThan(MC);
    expect(t.pValue!).toBeLessThan(0.05);
    expect(t.liftInterval![0]).toBeGreaterThan(0);
    expect(a.arms[2]!.lift).toBeCloseTo(0, 12);
    expect(a.srm.notEnoughData === false && a.srm.flagged).toBe(false);
    expect(a.method).toMatch(/Beta-binomial/);
    expect(a.cuped).toBeNull();
  });

  it('says not enough data below the minimum sample, naming the arm', () => {
    const a = analyzeExperiment('conversion', [conv('control', 1000, 100), conv('test', 99, 20)], 'control');
    expect(a.arms[1]).toMatchObject({ lift: null, pValue: null, chanceToBeatControl: null });
    expect(a.arms[1]!.notEnoughData).toMatch(/99 units exposed to 'test', fewer than 100/);
    const small = analyzeExperiment('conversion', [conv('control', 50, 5), conv('test', 500, 60)], 'control');
    expect(small.arms[1]!.notEnoughData).toMatch(/control 'control' has 50 units/);
  });

  it('uses CUPED when the arms carry a pre-period, and says so', () => {
    const arms = simulate(21, 1000, true, 0.3).map((s, i) => ({ ...s, key: i === 0 ? 'control' : 'test' }));
    const a = analyzeExperiment('mean', arms, 'control');
    expect(a.cuped?.varianceReduction).toBeGreaterThan(0.8);
    expect(a.method).toMatch(/CUPED/);
    expect(a.arms[1]!.adjustedValue).not.toBeNull();
    const off = analyzeExperiment('mean', arms, 'control', { cuped: false });
    expect(off.cuped).toBeNull();
    const w = (x: typeof a) => x.arms[1]!.liftInterval![1] - x.arms[1]!.liftInterval![0];
    expect(w(a)).toBeLessThan(0.5 * w(off));
  });
});

import { describe, expect, it } from 'vitest';
import { classification, lift, oddsRatio, relativeRisk } from './effect-sizes.js';
import type { StatResult } from './result.js';

function value<T>(r: StatResult<T>): T & { test: string } {
  if (r.notEnoughData) throw new Error(`expected a value, got: ${r.reason}`);
  return r;
}

describe('classification', () => {
  it('computes precision, recall, F1, lift and MCC by hand', () => {
    // tp 20, fp 10, fn 30, tn 40 (n = 100): precision 20/30, recall 20/50, F1 = 40/80,
    // base rate 50/100, lift 0.6667/0.5 = 1.3333, MCC = (800 − 300)/√(30·50·50·70) = 0.218218.
    const r = value(
      classification({ truePositives: 20, falsePositives: 10, falseNegatives: 30, trueNegatives: 40 }),
    );
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.recall).toBeCloseTo(0.4, 12);
    expect(r.f1).toBeCloseTo(0.5, 12);
    expect(r.lift).toBeCloseTo(4 / 3, 12);
    expect(r.negativePredictiveValue).toBeCloseTo(4 / 7, 12);
    expect(r.rateRatio).toBeCloseTo(2 / 3 / (3 / 7), 12);
    expect(r.mcc).toBeCloseTo(0.218218, 6);
  });

  it('gives MCC ±1 for a perfect (or perfectly wrong) rule', () => {
    expect(
      value(classification({ truePositives: 5, falsePositives: 0, falseNegatives: 0, trueNegatives: 7 })).mcc,
    ).toBe(1);
    expect(
      value(classification({ truePositives: 0, falsePositives: 7, falseNegatives: 5, trueNegatives: 0 })).mcc,
    ).toBe(-1);
  });

  it('leaves measures with a zero denominator null, and refuses n = 0', () => {
    // The rule picks everyone: no negatives, so MCC and NPV are undefined.
    const all = value(
      classification({ truePositives: 6, falsePositives: 4, falseNegatives: 0, trueNegatives: 0 }),
    );
    expect(all.mcc).toBeNull();
    expect(all.negativePredictiveValue).toBeNull();
    expect(all.lift).toBeCloseTo(1, 12);
    expect(
      classification({ truePositives: 0, falsePositives: 0, falseNegatives: 0, trueNegatives: 0 })
        .notEnoughData,
    ).toBe(true);
  });
});

describe('relativeRisk', () => {
  it('computes the Katz log interval by hand', () => {
    // 20/100 vs 10/100: RR 2; SE = √(1/20 − 1/100 + 1/10 − 1/100) = √0.13 = 0.360555;
    // 95%: exp(0.693147 ± 1.959964 · 0.360555) = exp(0.693147 ± 0.706675) = [0.98656, 4.05448].
    const r = value(relativeRisk({ successesA: 20, totalA: 100, successesB: 10, totalB: 100 }));
    expect(r.estimate).toBeCloseTo(2, 12);
    expect(r.interval.low).toBeCloseTo(0.98656, 4);
    expect(r.interval.high).toBeCloseTo(4.05448, 4);
    expect(r.corrected).toBe(false);
  });

  it('corrects a zero numerator and refuses when nobody had the outcome', () => {
    // 0/10 vs 5/10 → (0.5/11)/(5.5/11) = 0.090909.
    const r = value(relativeRisk({ successesA: 0, totalA: 10, successesB: 5, totalB: 10 }));
    expect(r.corrected).toBe(true);
    expect(r.estimate).toBeCloseTo(1 / 11, 10);
    expect(relativeRisk({ successesA: 0, totalA: 10, successesB: 0, totalB: 10 }).notEnoughData).toBe(true);
    expect(relativeRisk({ successesA: 0, totalA: 0, successesB: 1, totalB: 10 }).notEnoughData).toBe(true);
  });
});

describe('oddsRatio', () => {
  it('computes the Woolf interval by hand', () => {
    // a 20, b 80, c 10, d 90: OR = 1800/800 = 2.25; SE = √(1/20 + 1/80 + 1/10 + 1/90) = 0.416667;
    // 95%: exp(0.810930 ± 0.816652) = [0.99430, 5.09165].
    const r = value(oddsRatio({ successesA: 20, totalA: 100, successesB: 10, totalB: 100 }));
    expect(r.estimate).toBeCloseTo(2.25, 12);
    expect(r.interval.low).toBeCloseTo(0.9943, 3);
    expect(r.interval.high).toBeCloseTo(5.0916, 3);
  });

  it('applies the Haldane correction to a zero cell', () => {
    // a 0, b 10, c 5, d 5 → (0.5 · 5.5)/(10.5 · 5.5) = 0.047619.
    const r = value(oddsRatio({ successesA: 0, totalA: 10, successesB: 5, totalB: 10 }));
    expect(r.corrected).toBe(true);
    expect(r.estimate).toBeCloseTo(0.5 / 10.5, 10);
    expect(Number.isFinite(r.interval.high)).toBe(true);
  });

  it('refuses when every observation has the same outcome', () => {
    expect(oddsRatio({ successesA: 10, totalA: 10, successesB: 5, totalB: 5 }).notEnoughData).toBe(true);
  });
});

describe('lift', () => {
  it('divides by the baseline and is null for a zero baseline', () => {
    expect(lift(0.15, 0.05)).toBeCloseTo(3, 12);
    expect(lift(0.15, 0)).toBeNull();
  });
});

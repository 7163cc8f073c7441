import { describe, expect, it } from 'vitest';
import { npsCounts, npsWithInterval } from './nps.js';

describe('npsWithInterval', () => {
  it('computes NPS and its interval by hand', () => {
    // 50 promoters, 30 passives, 20 detractors: NPS = 100 · (0.5 − 0.2) = 30;
    // variance per response = 0.5 + 0.2 − 0.3² = 0.61; SE = 100 · √(0.61/100) = 7.81025;
    // 95%: 30 ± 1.959964 · 7.81025 = [14.692, 45.308].
    const r = npsWithInterval({ promoters: 50, passives: 30, detractors: 20 });
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.test).toBe('nps-normal-interval');
    expect(r.nps).toBeCloseTo(30, 12);
    expect(r.standardError).toBeCloseTo(7.81025, 4);
    expect(r.interval.low).toBeCloseTo(14.692, 2);
    expect(r.interval.high).toBeCloseTo(45.308, 2);
  });

  it('gives a zero-width interval when every response is a promoter', () => {
    const r = npsWithInterval({ promoters: 20, passives: 0, detractors: 0 });
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.nps).toBe(100);
    expect(r.interval.low).toBe(100);
    expect(r.interval.high).toBe(100);
  });

  it('clips the interval to −100..100', () => {
    const r = npsWithInterval({ promoters: 1, passives: 0, detractors: 9 });
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.nps).toBeCloseTo(-80, 12);
    expect(r.interval.low).toBe(-100);
  });

  it('says not enough data below the minimum number of responses', () => {
    const none = npsWithInterval({ promoters: 0, passives: 0, detractors: 0 });
    expect(none.notEnoughData).toBe(true);
    const few = npsWithInterval({ promoters: 3, passives: 1, detractors: 1 });
    expect(few.notEnoughData && few.reason).toBe('5 responses, need at least 10');
    expect(
      npsWithInterval({ promoters: 3, passives: 1, detractors: 1 }, { minResponses: 5 }).notEnoughData,
    ).toBe(false);
  });
});

describe('npsCounts', () => {
  it('buckets 0–10 scores', () => {
    expect(npsCounts([10, 9, 8, 7, 6, 0])).toEqual({ promoters: 2, passives: 2, detractors: 2 });
    expect(() => npsCounts([11])).toThrow(/0–10/);
  });
});

import { normalQuantile } from './jstat.js';
import type { Interval, StatResult } from './result.js';
import { assertCount, computed, notEnoughData } from './result.js';

/**
 * Net Promoter Score with a confidence interval. NPS = 100 · (p₊ − p₋) where p₊ is the share of
 * promoters (9–10) and p₋ of detractors (0–6). Each response is a score of +1, 0 or −1, so the
 * variance of one response is p₊ + p₋ − (p₊ − p₋)² and the standard error of the NPS is
 * 100 · √((p₊ + p₋ − (p₊ − p₋)²) / n) (the multinomial variance of the difference of two shares).
 * The normal interval is clipped to [−100, 100].
 */
export interface NpsCounts {
  promoters: number;
  passives: number;
  detractors: number;
}

export interface NpsResult {
  nps: number;
  n: number;
  promoters: number;
  passives: number;
  detractors: number;
  standardError: number;
  interval: Interval;
}

/** Fewer responses than this give an interval wider than ±30 points or so: no NPS is shown. */
export const NPS_MIN_RESPONSES = 10;

export function npsWithInterval(
  counts: NpsCounts,
  options: { minResponses?: number; level?: number } = {},
): StatResult<NpsResult> {
  const test = 'nps-normal-interval';
  const { promoters, passives, detractors } = counts;
  assertCount('promoters', promoters);
  assertCount('passives', passives);
  assertCount('detractors', detractors);
  const minResponses = options.minResponses ?? NPS_MIN_RESPONSES;
  const level = options.level ?? 0.95;
  const n = promoters + passives + detractors;
  if (n === 0 || n < minResponses) {
    return notEnoughData(test, `${n} responses, need at least ${Math.max(1, minResponses)}`);
  }
  const pPlus = promoters / n;
  const pMinus = detractors / n;
  const diff = pPlus - pMinus;
  const standardError = 100 * Math.sqrt(Math.max(0, pPlus + pMinus - diff * diff) / n);
  const z = normalQuantile(1 - (1 - level) / 2);
  const nps = 100 * diff;
  return computed(test, {
    nps,
    n,
    promoters,
    passives,
    detractors,
    standardError,
    interval: {
      low: Math.max(-100, nps - z * standardError),
      high: Math.min(100, nps + z * standardError),
      level,
    },
  });
}

/** Counts promoters (9–10), passives (7–8) and detractors (0–6) of 0–10 scores. */
export function npsCounts(scores: readonly number[]): NpsCounts {
  const counts: NpsCounts = { promoters: 0, passives: 0, detractors: 0 };
  for (const s of scores) {
    if (!Number.isInteger(s) || s < 0 || s > 10) throw new Error(`an NPS score is an integer 0–10, got ${s}`);
    if (s >= 9) counts.promoters++;
    else if (s >= 7) counts.passives++;
    else counts.detractors++;
  }
  return counts;
}

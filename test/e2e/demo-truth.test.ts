/**
 * Issue 6's promise on the demo: every effect planted in truth.json is found by the review, and
 * every planted anomaly is flagged. Runs the whole review (all metric families, all five deep
 * dives) on a small generated demo through the same importers a user runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoTruth } from '../../src/demo/truth.js';
import type { DeepDive, Review } from '../../src/domain/review.js';
import { buildReview } from '../../src/review/build.js';
import { demoStore, type DemoStore } from '../helpers/demo-store.js';

let store: DemoStore;
let review: Review;
let truth: DemoTruth;

const dive = (id: string): DeepDive => {
  const d = review.deepDives.find((x) => x.id === id);
  if (!d) throw new Error(`deep dive ${id} missing`);
  return d;
};
const effect = (id: string) => {
  const e = truth.effects.find((x) => x.deepDive === id);
  if (!e) throw new Error(`truth.json has no ${id} effect`);
  return e as unknown as Record<string, unknown>;
};

beforeAll(async () => {
  store = await demoStore({ seed: 7, orgs: 250, events: 300_000, until: '2026-11-01' });
  truth = store.truth;
  review = await buildReview({
    engine: store.engine,
    config: store.config,
    product: 'all',
    month: store.files.month,
  });
}, 240_000);

afterAll(() => store?.close());

describe('the demo review finds what truth.json planted', () => {
  it('top-customers: the planted customer is at-risk or unhappy', () => {
    const e = effect('top-customers');
    const customers = dive('top-customers').data.customers as { organization: string; health: string }[];
    const c = customers.find((x) => x.organization === e.organization);
    expect(c, `${String(e.organization)} among the top customers`).toBeDefined();
    expect(e.expectedHealth as string[]).toContain(c!.health);
  });

  it('icp-vs-non-icp: the planted event is the largest significant difference, higher for ICP', () => {
    const e = effect('icp-vs-non-icp');
    const features = dive('icp-vs-non-icp').data.features as {
      event: string;
      difference: number;
      pValue: number;
    }[];
    expect(features[0]?.event).toBe(e.event);
    expect(features[0]!.difference).toBeGreaterThan(0.4);
    expect(features[0]!.pValue).toBeLessThan(0.001);
  });

  it('churn-reasons: churn was high, driven by the planted segment, with the planted theme first', () => {
    const e = effect('churn-reasons') as {
      segment: { dimension: string; value: string };
      theme: string;
      churned: string[];
    };
    const data = dive('churn-reasons').data as {
      high: boolean;
      drivers: { dimension: string; value: string; pValue: number }[];
      churned: { organization: string }[];
      reasons: { theme: string }[];
    };
    expect(data.high).toBe(true);
    expect(data.drivers[0]?.dimension).toMatch(new RegExp(`${e.segment.dimension}$`));
    expect(data.drivers[0]?.value.toLowerCase()).toBe(e.segment.value.toLowerCase());
    const churned = new Set(data.churned.map((c) => c.organization));
    const planted = e.churned.filter((o) => churned.has(o));
    expect(planted.length / e.churned.length).toBeGreaterThan(0.8);
    expect(data.reasons[0]?.theme).toBe(e.theme);
  });

  it('leading-indicators: the planted event is the best indicator, and its planted rule is found in its window', () => {
    const e = effect('leading-indicators') as { event: string; threshold: number; windowDays: number };
    const indicators = dive('leading-indicators').data.indicators as {
      event: string;
      lift: number;
      byWindow: { windowDays: number; threshold: number }[];
    }[];
    expect(indicators[0]?.event).toBe(e.event);
    expect(indicators[0]!.lift).toBeGreaterThan(1.2);
    const inWindow = indicators[0]!.byWindow.find((w) => w.windowDays === e.windowDays);
    expect(Math.abs(inWindow!.threshold - e.threshold)).toBeLessThanOrEqual(1);
  });

  it('onboarding-funnel: the planted biggest drop', () => {
    expect(dive('onboarding-funnel').data.biggestDrop).toBe(effect('onboarding-funnel').biggestDrop);
  });

  it('every planted anomaly is flagged in its direction', () => {
    for (const a of truth.anomalies) {
      const found = review.anomalies.find((x) => x.metricId === a.metricId && x.month === a.month);
      expect(found, `anomaly ${a.metricId} ${a.month}`).toBeDefined();
      expect(found!.direction).toBe(a.direction);
    }
  });

  it('every highlight points at a metric, anomaly or deep dive of this review; at most 7', () => {
    expect(review.highlights.length).toBeGreaterThan(0);
    expect(review.highlights.length).toBeLessThanOrEqual(7);
    const metricIds = new Set(review.metrics.map((m) => m.id));
    const diveIds = new Set(review.deepDives.map((d) => d.id));
    for (const h of review.highlights) {
      const [kind, id] = [
        h.source.slice(0, h.source.indexOf(':')),
        h.source.slice(h.source.indexOf(':') + 1),
      ];
      if (kind === 'dive') expect(diveIds.has(id), h.source).toBe(true);
      else expect(metricIds.has(id), h.source).toBe(true);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoTruth, OnboardingEffect } from '../../demo/truth.js';
import { demoStore, diveContext, type DemoStore } from '../../../test/helpers/demo-store.js';
import { onboardingFunnel, type OnboardingStep, type StepComparison } from './onboarding-funnel.js';
import type { DeepDiveContext } from './types.js';

// A small demo (100 organizations, ~60 new users in the review month 2025-05); only its events
// are imported, since the funnel reads nothing else.
describe('onboarding-funnel on a small generated demo', () => {
  let store: DemoStore;
  let ctx: DeepDiveContext;
  let truth: DemoTruth;
  beforeAll(async () => {
    store = await demoStore({ seed: 7, orgs: 100, events: 10_000, until: '2025-06-15' }, ['events']);
    truth = store.truth;
    ctx = diveContext(store);
  });
  afterAll(() => store.close());

  it('finds the drop planted in truth.json, and claims no change where none was planted', async () => {
    const planted = truth.effects.find((x): x is OnboardingEffect => x.deepDive === 'onboarding-funnel');
    if (!planted) throw new Error('truth.json plants no onboarding drop');
    const dive = await onboardingFunnel.run(ctx);
    const steps = dive.data.steps as OnboardingStep[];
    expect(steps.map((s) => s.name)).toEqual(planted.steps);
    expect(dive.data.biggestDrop).toBe(planted.biggestDrop);
    expect(dive.data.newUsers).toBeGreaterThanOrEqual(30);
    // the planted conversion into the drop step lies inside the review month's 95% Wilson interval
    const k = planted.steps.indexOf(planted.biggestDrop);
    const ci = steps[k]?.conversionInterval;
    const rate = planted.params.conversionFromPrevious[k] ?? NaN;
    expect(ci?.low).toBeLessThan(rate);
    expect(ci?.high).toBeGreaterThan(rate);
    // the demo plants the same funnel every month: no step changed significantly
    const change = dive.data.changeThisMonth as { comparisons: StepComparison[] };
    expect(change.comparisons.length).toBeGreaterThan(0);
    expect(change.comparisons.some((c) => c.significant)).toBe(false);
  });

  it('infers the planted milestones, in order, when no steps are configured', async () => {
    const planted = truth.effects.find((x): x is OnboardingEffect => x.deepDive === 'onboarding-funnel');
    if (!planted) throw new Error('truth.json plants no onboarding drop');
    const config = { ...ctx.config, onboarding: { ...ctx.config.onboarding, steps: [] } };
    const dive = await onboardingFunnel.run({ ...ctx, config });
    const names = (dive.data.steps as OnboardingStep[]).map((s) => s.name);
    // The last planted step is also an everyday action: a milestone only where new users rarely
    // repeat it within the window (this sparse demo; not the default one, where it is left out).
    expect(names.slice(0, 4)).toEqual(planted.steps.slice(0, 4));
    expect(dive.data.biggestDrop).toBe(planted.biggestDrop);
  });
});

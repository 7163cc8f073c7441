/**
 * `truth.json`: what the demo planted, machine-checkable, so the deep dives (SPEC §5 ids) and the
 * anomaly detector can be tested against it. Each effect gives its parameters and strength; the
 * measured figures are computed from the generated plan, not assumed.
 */
import type { Month } from '../domain/month.js';
import { monthEnd, monthStart, addMonths } from '../domain/month.js';
import { EV, ONBOARDING_STEPS } from './catalog.js';
import { DAY, PLANT, type World } from './company.js';
import { joins, personActive } from './events.js';
import { demoLaunchesTruth, type PlantedLaunch } from './launches.js';

export interface TopCustomersEffect {
  deepDive: 'top-customers';
  organization: string;
  name: string;
  rank: number;
  expectedHealth: Array<'at-risk' | 'unhappy'>;
  /** Active-user factor in the last three months vs the three before; NPS range of its people then. */
  params: { usageFactor: number; npsFrom: number; npsTo: number; since: Month };
}
export interface IcpEffect {
  deepDive: 'icp-vs-non-icp';
  event: string;
  rule: { property: string; op: '>='; value: number };
  direction: 'icp-higher';
  params: { icpAdoption: number; nonIcpAdoption: number };
  /** Events whose adoption was drawn with the same probability in both groups (negative controls). */
  controls: string[];
}
export interface ChurnEffect {
  deepDive: 'churn-reasons';
  month: Month;
  high: true;
  segment: { dimension: 'plan'; value: string };
  theme: string;
  params: { segmentRate: number; baselineRate: number };
  churned: string[];
  churnedInSegment: string[];
}
export interface LeadingIndicatorEffect {
  deepDive: 'leading-indicators';
  event: string;
  threshold: number;
  windowDays: number;
  direction: 'retained-more';
  params: { retainedIfDone: number; retainedOtherwise: number };
  measured: {
    users: number;
    retainedIfDone: number | null;
    retainedOtherwise: number | null;
    outcomeDays: [number, number];
  };
}
export interface OnboardingEffect {
  deepDive: 'onboarding-funnel';
  steps: string[];
  biggestDrop: string;
  params: { conversionFromPrevious: number[] };
}
export type Effect = TopCustomersEffect | IcpEffect | ChurnEffect | LeadingIndicatorEffect | OnboardingEffect;

export interface PlantedAnomaly {
  metricId: string;
  month: Month;
  direction: 'up' | 'down';
  factor: number;
  cause: string;
}

export interface DemoTruth {
  schemaVersion: 1;
  seed: number;
  month: Month;
  until: string;
  organizations: number;
  events: number;
  effects: Effect[];
  anomalies: PlantedAnomaly[];
  /** The launches "What we shipped" judges (src/demo/launches.ts). */
  launches: PlantedLaunch[];
}

export function buildTruth(world: World, events: number): DemoTruth {
  const reviewStart = monthStart(world.month).getTime();
  const reviewEnd = monthEnd(world.month).getTime();
  const top = world.orgs.find((o) => o.key === world.topCustomerKey);
  const churned = world.orgs.filter((o) =>
    o.subs.some(
      (s) => s.endedAt !== null && s.converted && s.endedAt >= reviewStart && s.endedAt < reviewEnd,
    ),
  );
  const inSegment = churned.filter((o) =>
    o.subs.some(
      (s) =>
        s.cancellationTheme === PLANT.churn.theme &&
        s.endedAt !== null &&
        s.endedAt >= reviewStart &&
        s.endedAt < reviewEnd &&
        s.items[0]?.price.nickname === PLANT.churn.plan,
    ),
  );

  // Measured retention: people whose outcome window (days 56–90) ended before `until`.
  const outcome: [number, number] = [56, 90];
  let done = 0;
  let doneRetained = 0;
  let other = 0;
  let otherRetained = 0;
  for (const org of world.orgs) {
    for (const p of org.people) {
      if (p.signupAt + outcome[1] * DAY > world.until || !joins(world, org, p)) continue;
      let retained = false;
      for (let d = outcome[0]; d < outcome[1] && !retained; d++)
        retained = personActive(org, p, p.signupAt + d * DAY);
      if (p.inviter) {
        done++;
        if (retained) doneRetained++;
      } else {
        other++;
        if (retained) otherRetained++;
      }
    }
  }

  const effects: Effect[] = [];
  if (top) {
    effects.push({
      deepDive: 'top-customers',
      organization: top.key,
      name: top.name,
      rank: PLANT.topCustomer.rank,
      expectedHealth: ['at-risk', 'unhappy'],
      params: {
        usageFactor: PLANT.topCustomer.collapseTo,
        npsFrom: PLANT.topCustomer.npsFrom,
        npsTo: PLANT.topCustomer.npsTo,
        since: addMonths(world.month, -2),
      },
    });
  }
  effects.push(
    {
      deepDive: 'icp-vs-non-icp',
      event: EV.alertCreated,
      rule: { property: PLANT.icp.property, op: '>=', value: PLANT.icp.threshold },
      direction: 'icp-higher',
      params: { icpAdoption: PLANT.icp.icpAdoption, nonIcpAdoption: PLANT.icp.nonIcpAdoption },
      controls: [EV.commentAdded, EV.reportExported],
    },
    {
      deepDive: 'churn-reasons',
      month: world.month,
      high: true,
      segment: { dimension: 'plan', value: PLANT.churn.plan },
      theme: PLANT.churn.theme,
      params: { segmentRate: PLANT.churn.reviewMonthRate, baselineRate: PLANT.churn.baselineRate },
      churned: churned.map((o) => o.key),
      churnedInSegment: inSegment.map((o) => o.key),
    },
    {
      deepDive: 'leading-indicators',
      event: EV.inviteSent,
      threshold: PLANT.invites.threshold,
      windowDays: PLANT.invites.windowDays,
      direction: 'retained-more',
      params: {
        retainedIfDone: PLANT.invites.retainedIfInviter,
        retainedOtherwise: PLANT.invites.retainedOtherwise,
      },
      measured: {
        users: done + other,
        retainedIfDone: done ? round(doneRetained / done) : null,
        retainedOtherwise: other ? round(otherRetained / other) : null,
        outcomeDays: outcome,
      },
    },
    {
      deepDive: 'onboarding-funnel',
      steps: [...ONBOARDING_STEPS],
      biggestDrop: EV.dataSourceConnected,
      params: { conversionFromPrevious: [...PLANT.onboarding.conversion] },
    },
  );
  return {
    schemaVersion: 1,
    seed: world.seed,
    month: world.month,
    until: new Date(world.until).toISOString().slice(0, 10),
    organizations: world.orgs.length,
    events,
    effects,
    anomalies: [
      {
        metricId: 'tickets',
        month: world.month,
        direction: 'up',
        factor: PLANT.ticketsAnomaly.factor,
        cause: 'an ingestion incident multiplied support tickets by five',
      },
      {
        metricId: 'churned_customers',
        month: world.month,
        direction: 'up',
        factor: PLANT.churn.reviewMonthRate / PLANT.churn.baselineRate,
        cause: 'the Starter-plan churn wave (churn-reasons)',
      },
    ],
    launches: demoLaunchesTruth(world.month),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

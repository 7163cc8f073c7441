/**
 * The demo company's launches (docs/analyses.md#launches), planted so "What we shipped" can be
 * checked against truth.json:
 *
 * - **Insight templates**, an experiment on the flag `insight-templates` (control / test, 50/50 by
 *   person) from the 10th of the month before the review month: people in `test` create 30% more
 *   insights after their exposure. It works.
 * - **New navigation**, an experiment on `new-navigation` (control / redesign, 50/50) from the 5th
 *   two months before: no effect on anything. It does nothing.
 * - **Faster query editor**, shipped to everyone on the 6th of the review month, no flag: everyone
 *   runs 20% more queries from that day. A launch without a control group.
 *
 * A person's exposure is their first active day on or after an experiment's start; from then on
 * each active day sends `$feature_flag_called` as the SDKs do. Every draw here comes from its own
 * stream (`Random.derive(seed, 'launches', org, person)`), and the planted extra events are
 * appended after the person's own, so the rest of the company is the same event for event.
 */
import { addMonths, isoDay, monthStart, type Month } from '../domain/month.js';
import { EV } from './catalog.js';
import { DAY, type Org, type Person, type World } from './company.js';
import { Random } from './random.js';

export interface DemoExperiment {
  title: string;
  flag: string;
  control: string;
  treatment: string;
  /** Days after the start of the month `monthsBefore` months before the review month. */
  monthsBefore: number;
  day: number;
  metric: { event: string; type: 'count' };
  /** The treatment's relative effect on the metric (0: none). */
  lift: number;
}

export const DEMO_EXPERIMENTS: readonly DemoExperiment[] = [
  {
    title: 'Insight templates',
    flag: 'insight-templates',
    control: 'control',
    treatment: 'test',
    monthsBefore: 1,
    day: 10,
    metric: { event: EV.insightCreated, type: 'count' },
    lift: 0.3,
  },
  {
    title: 'New navigation',
    flag: 'new-navigation',
    control: 'control',
    treatment: 'redesign',
    monthsBefore: 2,
    day: 5,
    metric: { event: EV.dashboardViewed, type: 'count' },
    lift: 0,
  },
];

export const DEMO_FULL_LAUNCH = {
  title: 'Faster query editor',
  monthsBefore: 0,
  day: 6,
  metric: { event: EV.queryRun, type: 'count' as const },
  lift: 0.2,
};

const FLAG_CALLED = '$feature_flag_called';

function startOf(month: Month, monthsBefore: number, day: number): number {
  return monthStart(addMonths(month, -monthsBefore)).getTime() + (day - 1) * DAY;
}

export function experimentStart(world: World, x: DemoExperiment): number {
  return startOf(world.month, x.monthsBefore, x.day);
}

export function fullLaunchAt(world: World): number {
  return startOf(world.month, DEMO_FULL_LAUNCH.monthsBefore, DEMO_FULL_LAUNCH.day);
}

/** One person's part in the launches: which arm of each experiment, and the extra events. */
export class PersonLaunches {
  readonly random: Random;
  readonly #arms: { x: DemoExperiment; start: number; treated: boolean; exposedAt: number | null }[];
  readonly #launchAt: number;

  constructor(world: World, org: Org, p: Person) {
    this.random = Random.derive(world.seed, 'launches', org.index, p.index);
    this.#arms = DEMO_EXPERIMENTS.map((x) => ({
      x,
      start: experimentStart(world, x),
      treated: this.random.chance(0.5),
      exposedAt: null,
    }));
    this.#launchAt = fullLaunchAt(world);
  }

  /** `$feature_flag_called` properties (JSON members) to send on an active day starting at `t`. */
  flagCalls(t: number): string[] {
    const out: string[] = [];
    for (const a of this.#arms) {
      if (t < a.start) continue;
      a.exposedAt ??= t;
      const variant = a.treated ? a.x.treatment : a.x.control;
      out.push(
        `"$feature_flag":${JSON.stringify(a.x.flag)},"$feature_flag_response":${JSON.stringify(variant)}`,
      );
    }
    return out;
  }

  /** How many extra copies of `event` at `t` the planted effects add (0 or 1 each). */
  extra(event: string, t: number): number {
    let n = 0;
    for (const a of this.#arms) {
      if (
        a.treated &&
        a.x.lift > 0 &&
        a.exposedAt !== null &&
        t >= a.exposedAt &&
        event === a.x.metric.event
      ) {
        if (this.random.chance(a.x.lift)) n++;
      }
    }
    if (
      t >= this.#launchAt &&
      event === DEMO_FULL_LAUNCH.metric.event &&
      this.random.chance(DEMO_FULL_LAUNCH.lift)
    )
      n++;
    return n;
  }
}

/** Expected extra events of an active day `d` (for expectedEvents): one flag call per running experiment. */
export function expectedFlagCalls(world: World, d: number): number {
  return DEMO_EXPERIMENTS.filter((x) => d + DAY > experimentStart(world, x)).length;
}

export { FLAG_CALLED };

/** The demo config's `launches:` (SPEC §4). */
export function demoLaunchesConfig(month: Month): Record<string, unknown>[] {
  return [
    ...DEMO_EXPERIMENTS.map((x) => ({
      title: x.title,
      date: isoDay(new Date(startOf(month, x.monthsBefore, x.day))),
      product: 'analytics',
      flag: x.flag,
      metrics: [x.metric],
    })),
    {
      title: DEMO_FULL_LAUNCH.title,
      date: isoDay(new Date(startOf(month, DEMO_FULL_LAUNCH.monthsBefore, DEMO_FULL_LAUNCH.day))),
      product: 'analytics',
      metrics: [DEMO_FULL_LAUNCH.metric],
    },
  ];
}

/** truth.json's `launches`: what each launch did, and the verdict "What we shipped" should reach. */
export interface PlantedLaunch {
  title: string;
  kind: 'experiment' | 'launch';
  date: string;
  flag: string | null;
  metric: { event: string; type: 'count' };
  metricId: string;
  /** The planted relative effect on the metric (for an experiment: of the treatment). */
  lift: number;
  expectedVerdict: 'moved' | 'no-effect';
  split?: { control: string; treatment: string; shareTreated: number };
}

export function demoLaunchesTruth(month: Month): PlantedLaunch[] {
  return [
    ...DEMO_EXPERIMENTS.map((x): PlantedLaunch => ({
      title: x.title,
      kind: 'experiment',
      date: isoDay(new Date(startOf(month, x.monthsBefore, x.day))),
      flag: x.flag,
      metric: x.metric,
      metricId: `${x.metric.type}:${x.metric.event}`,
      lift: x.lift,
      expectedVerdict: x.lift > 0 ? 'moved' : 'no-effect',
      split: { control: x.control, treatment: x.treatment, shareTreated: 0.5 },
    })),
    {
      title: DEMO_FULL_LAUNCH.title,
      kind: 'launch',
      date: isoDay(new Date(startOf(month, DEMO_FULL_LAUNCH.monthsBefore, DEMO_FULL_LAUNCH.day))),
      flag: null,
      metric: DEMO_FULL_LAUNCH.metric,
      metricId: `${DEMO_FULL_LAUNCH.metric.type}:${DEMO_FULL_LAUNCH.metric.event}`,
      lift: DEMO_FULL_LAUNCH.lift,
      expectedVerdict: 'moved',
    },
  ];
}

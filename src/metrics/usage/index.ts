/**
 * The usage metric family (SPEC §5, issue 5): active users and organizations, new ones, growth,
 * retention, lifecycle, DAU/WAU/MAU and stickiness, activation, key actions — per month, for one
 * product. Definitions and null rules: docs/metrics.md#usage; each query's file says its method.
 */
import { addMonths, type Month } from '../../domain/month.js';
import { raw } from '../../store/sql.js';
import { matchesAnyGlob } from '../scope.js';
import type { MetricContext, MetricFamily, MetricValues } from '../types.js';
import { activation, type ActivationMonth } from './activation.js';
import { actorMonths, retentionCohorts, type ActorMonth, type CohortCell } from './active.js';
import { keyActionCounts, type KeyActionMonth } from './key-actions.js';
import { monthRange, ratio, series, type MetricMeta, type MonthRange } from './series.js';
import { dailyActivity, daysInMonth, type DailyActivity } from './stickiness.js';

const usage = (id: string, label: string, unit: MetricMeta['unit'], description: string): MetricMeta => ({
  id,
  group: 'usage',
  label,
  unit,
  description,
});

/** The months the store has events for (any event, any product): outside them usage is null. */
export function eventRange(ctx: MetricContext): Promise<MonthRange> {
  return monthRange(ctx.engine, raw('events'), raw('timestamp'));
}

/** What the usage queries found: one named query each (each timed under `--timings`). */
export interface UsageFacts {
  range: MonthRange;
  users: Map<Month, ActorMonth>;
  orgs: Map<Month, ActorMonth>;
  daily: Map<Month, DailyActivity>;
  act: Map<Month, ActivationMonth>;
  keys: Map<string, Map<Month, KeyActionMonth>>;
  cohorts: Map<Month, CohortCell[]>;
}

/** The family's queries, one after another: an engine runs one statement at a time on its connection. */
export async function queryUsage(ctx: MetricContext): Promise<UsageFacts> {
  const time = <T>(label: string, fn: () => Promise<T>): Promise<T> =>
    ctx.timings ? ctx.timings.time(`  usage ${label}`, fn) : fn();
  const range = await time('event range', () => eventRange(ctx));
  const users = await time('active users', () => actorMonths(ctx, 'person'));
  const orgs = await time('active organizations', () => actorMonths(ctx, 'organization'));
  const daily = await time('daily activity', () => dailyActivity(ctx));
  const act = await time('activation', () => activation(ctx));
  const keys = await time('key actions', () => keyActionCounts(ctx));
  const cohorts = await time('retention cohorts', () => retentionCohorts(ctx));
  return { range, users, orgs, daily, act, keys, cohorts };
}

export async function computeUsage(ctx: MetricContext): Promise<MetricValues[]> {
  if (ctx.months.length === 0) return [];
  return formatUsage(ctx, await queryUsage(ctx));
}

/** Pure: every usage metric of `ctx.months` from what the queries found (no SQL). */
export function formatUsage(
  ctx: Pick<MetricContext, 'config' | 'product' | 'months'>,
  facts: UsageFacts,
): MetricValues[] {
  const { range, users, orgs, daily, act, keys, cohorts } = facts;
  const months = ctx.months;
  const at = (map: Map<Month, ActorMonth>, m: Month): ActorMonth =>
    map.get(m) ?? { m, active: 0, new: 0, retained: 0, resurrecting: 0 };
  // The month before m only counts as a denominator when it is inside the data range too.
  const prevActive = (map: Map<Month, ActorMonth>, m: Month): number | null => {
    const p = addMonths(m, -1);
    return range.first !== null && p >= range.first ? at(map, p).active : null;
  };
  const growth = (map: Map<Month, ActorMonth>) => (m: Month) => {
    const prev = prevActive(map, m);
    return prev === null ? null : ratio(at(map, m).active - prev, prev);
  };
  const dau = (m: Month): number => (daily.get(m)?.personDays ?? 0) / daysInMonth(m);
  const wau = (m: Month): number => (daily.get(m)?.personWeekDays ?? 0) / daysInMonth(m);
  const s = (
    meta: MetricMeta,
    value: (m: Month) => number | null,
    detail?: (m: Month) => Record<string, unknown>,
  ) => series(meta, months, range, value, detail);

  const out: MetricValues[] = [
    s(
      usage(
        'active_users',
        'Active users',
        'count',
        'Persons (all their distinct_ids as one) with an activity event in the month.',
      ),
      (m) => at(users, m).active,
    ),
    s(
      usage(
        'active_organizations',
        'Active organizations',
        'count',
        'Organizations with an activity event in the month.',
      ),
      (m) => at(orgs, m).active,
    ),
    s(
      usage('new_users', 'New users', 'count', 'Persons whose first activity event ever is in the month.'),
      (m) => at(users, m).new,
    ),
    s(
      usage(
        'new_organizations',
        'New organizations',
        'count',
        'Organizations whose first activity event ever is in the month.',
      ),
      (m) => at(orgs, m).new,
    ),
    s(
      usage(
        'user_growth_rate',
        'User growth rate',
        'ratio',
        'Month-on-month change of active users: (this − last) / last.',
      ),
      growth(users),
    ),
    s(
      usage(
        'organization_growth_rate',
        'Organization growth rate',
        'ratio',
        'Month-on-month change of active organizations.',
      ),
      growth(orgs),
    ),
    s(
      usage(
        'user_retention_rate',
        'User retention rate',
        'ratio',
        "Share of last month's active users active again this month.",
      ),
      (m) => ratio(at(users, m).retained, prevActive(users, m)),
      (m) => ({
        retained: at(users, m).retained,
        previousActive: prevActive(users, m),
        cohorts: cohorts.get(m) ?? [],
      }),
    ),
    s(
      usage(
        'dau',
        'Daily active users (mean)',
        'count',
        'Mean over the days of the month of persons active that day.',
      ),
      (m) => Math.round(dau(m)),
      (m) => ({ mean: dau(m), days: daysInMonth(m) }),
    ),
    s(
      usage(
        'wau',
        'Weekly active users (mean)',
        'count',
        'Mean over the days of the month of persons active in the 7 days to that day.',
      ),
      (m) => Math.round(wau(m)),
      (m) => ({ mean: wau(m), days: daysInMonth(m) }),
    ),
    s(
      usage('mau', 'Monthly active users', 'count', 'Persons active in the calendar month.'),
      (m) => at(users, m).active,
    ),
    s(
      usage(
        'stickiness',
        'Stickiness (DAU/MAU)',
        'ratio',
        'Mean daily active users divided by monthly active users.',
      ),
      (m) => ratio(dau(m), at(users, m).active),
    ),
    s(
      usage('lifecycle_new', 'Lifecycle: new', 'count', 'Persons active for the first time.'),
      (m) => at(users, m).new,
    ),
    s(
      usage(
        'lifecycle_returning',
        'Lifecycle: returning',
        'count',
        'Persons active this month and last month.',
      ),
      (m) => at(users, m).retained,
    ),
    s(
      usage(
        'lifecycle_resurrecting',
        'Lifecycle: resurrecting',
        'count',
        'Persons active this month, not last month, but before.',
      ),
      (m) => at(users, m).resurrecting,
    ),
    s(
      usage(
        'lifecycle_dormant',
        'Lifecycle: dormant',
        'count',
        'Persons active last month but not this month.',
      ),
      (m) => {
        const prev = prevActive(users, m);
        return prev === null ? null : prev - at(users, m).retained;
      },
    ),
  ];
  const steps = ctx.config.onboarding.steps;
  // A product's own new users meet the company's onboarding before they reach the product, so
  // activation is only measured for a product whose events include every onboarding step.
  const stepsInProduct =
    ctx.product.events.length === 0 || steps.every((st) => matchesAnyGlob(ctx.product.events, st));
  if (steps.length > 0 && stepsInProduct) {
    out.push(
      s(
        usage(
          'activation_rate',
          'Activation rate',
          'ratio',
          `Share of new users doing ${ctx.config.onboarding.steps.join(' → ')} within ${ctx.config.onboarding.windowDays} days.`,
        ),
        (m) => ratio(act.get(m)?.activated ?? 0, act.get(m)?.newUsers ?? 0),
        (m) => ({ newUsers: act.get(m)?.newUsers ?? 0, activated: act.get(m)?.activated ?? 0 }),
      ),
    );
  } else {
    out.push(
      series(
        usage(
          'activation_rate',
          'Activation rate',
          'ratio',
          steps.length === 0
            ? 'Not computed: no onboarding.steps configured.'
            : "Not computed: the onboarding steps are not this product's events.",
        ),
        months,
        { first: null, last: null },
        () => null,
      ),
    );
  }
  for (const [event, byMonth] of keys) {
    out.push(
      s(
        usage(
          `key_action:${event}`,
          `Key action: ${event}`,
          'count',
          `Times "${event}" was done in the month.`,
        ),
        (m) => byMonth.get(m)?.count ?? 0,
        (m) => ({ persons: byMonth.get(m)?.persons ?? 0 }),
      ),
    );
  }
  return out;
}

export const usageFamily: MetricFamily = { id: 'usage', compute: computeUsage };

/**
 * Deep dive `icp-vs-non-icp`: do high-ICP and non-ICP customers use the product differently?
 * (docs/analyses.md#icp-vs-non-icp)
 *
 * Groups: organizations active in the review month (at least one activity event of the product,
 * metrics/scope.ts) split by the config's `icp.all` rule over their group properties (analyses/
 * icp.ts). Organizations with no group properties at all cannot be classified and are left out
 * (counted as `unclassifiedOrganizations`).
 *
 * Features: for every feature event (feature-events.ts: `$` autocapture included, identity and
 * bookkeeping events and `activity.excludeEvents` left out) used by at least
 * MIN_ORGANIZATIONS_USING organizations, the share of each group's organizations that did it in
 * the month. Each difference is tested with Fisher's exact test when an expected cell count is
 * below 5, else the two-proportion z-test (stats `compareProportions`, which names the test), and
 * the p-values are corrected with Benjamini–Hochberg across all events tested. Significant
 * features (q < 0.05) rank by the absolute difference in share; the rest follow by p-value.
 * Filtering out rarely used events before the correction is independent of the group labels under
 * the null hypothesis, so it keeps the false discovery rate (Bourgon, Gentleman & Huber 2010).
 *
 * Also by group, four pre-specified comparisons, Benjamini–Hochberg-corrected as one family:
 * retention (share of last month's active organizations active again; proportions test), usage
 * intensity (activity events per active user per organization; Mann–Whitney U), revenue per
 * organization (month-end MRR, 0 when not paying; Mann–Whitney U) and NPS (responses of the
 * last NPS_MONTHS months from organizations of each group; z-test on the difference of two NPS
 * with their multinomial standard errors).
 *
 * Not enough data: no ICP rule configured, or fewer than MIN_ORGANIZATIONS_PER_GROUP active
 * organizations in either group.
 */
import { addMonths, monthEnd, monthStart } from '../../domain/month.js';
import { formatMoney } from '../../domain/money-format.js';
import type { DeepDive, Finding } from '../../domain/review.js';
import { customerRevenueTimeline } from '../../metrics/revenue/customer-mrr.js';
import { surveyEvents } from '../../metrics/feedback/nps.js';
import { sqlActivityEvent } from '../../metrics/scope.js';
import type { Dialect } from '../../store/dialect.js';
import { raw, sql, type Sql } from '../../store/sql.js';
import { describeIcpRule, hasIcpRule, ICP_RULE_HOWTO, sqlIcpRule } from '../icp.js';
import {
  benjaminiHochberg,
  compareProportions,
  mannWhitneyU,
  median,
  mean,
  npsWithInterval,
  wilsonInterval,
  type NpsCounts,
} from '../stats/index.js';
import { normalTwoSidedP } from '../stats/jstat.js';
import { sqlFeatureEvent } from './feature-events.js';
import { formatP } from './text.js';
import { timedQuery } from './timed.js';
import type { DeepDiveContext, DeepDiveRunner } from './types.js';
import { compareText } from '../../domain/order.js';
import { eventsWithPersons } from '../../store/events.js';

export const MIN_ORGANIZATIONS_PER_GROUP = 10;
export const MIN_ORGANIZATIONS_USING = 5;
export const SIGNIFICANCE = 0.05;
const NPS_MONTHS = 3;
const MAX_FEATURE_FINDINGS = 5;

const ID = 'icp-vs-non-icp';
const QUESTION = 'Do high-ICP and non-ICP customers use the product differently?';

export interface IcpFeature {
  event: string;
  /** Share of active ICP organizations that did the event in the month. */
  icpRate: number;
  nonIcpRate: number;
  /** icpRate − nonIcpRate. */
  difference: number;
  pValue: number;
  /** Benjamini–Hochberg adjusted p-value across all events tested. */
  qValue: number;
  significant: boolean;
  test: string;
  icpOrganizations: number;
  icpUsing: number;
  nonIcpOrganizations: number;
  nonIcpUsing: number;
}

export interface ActiveOrgRow {
  organization: string;
  icp: boolean | null;
  events: number;
  users: number;
  active_prev: number;
}

interface Comparison {
  name: string;
  title: string;
  detail: string;
  pValue: number | null;
  evidence: Record<string, unknown>;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function window(ctx: DeepDiveContext): { start: string; end: string; prevStart: string } {
  return {
    start: monthStart(ctx.month).toISOString(),
    end: monthEnd(ctx.month).toISOString(),
    prevStart: monthStart(addMonths(ctx.month, -1)).toISOString(),
  };
}

/** ICP classification of an organization key: TRUE/FALSE, NULL when it has no group properties. */
function sqlClassified(d: Dialect, ctx: DeepDiveContext): Sql {
  return sql`
    SELECT group_key AS organization, ${sqlIcpRule(d, ctx.config.icp.all, raw('properties'))} AS icp
    FROM groups WHERE group_type = 'organization' AND properties IS NOT NULL`;
}

export interface FeatureUsageRow {
  event: string;
  icp: boolean;
  orgs: number;
}

/**
 * Query: one scan of the month and the one before: every organization active in either (its
 * month's activity events and users, whether it was active the month before, its class), and per
 * feature event how many of the month's active classified organizations of each group did it.
 */
export async function queryMonthUsage(
  ctx: DeepDiveContext,
): Promise<{ active: ActiveOrgRow[]; usage: FeatureUsageRow[] }> {
  const d = ctx.engine.dialect;
  const w = window(ctx);
  const rows = await ctx.engine.query<{
    kind: 'organization' | 'feature';
    organization: string | null;
    icp: boolean | null;
    events: number;
    users: number;
    active_prev: number;
    event: string | null;
    orgs: number;
  }>(sql`
    WITH month_events AS (
      SELECT organization, person_id, event,
        CASE WHEN timestamp >= ${d.sqlTimestamp(sql`${w.start}`)} THEN 1 ELSE 0 END AS in_month,
        CASE WHEN ${sqlActivityEvent(d, ctx.config.activity, ctx.product)} THEN 1 ELSE 0 END AS is_act
      FROM ${eventsWithPersons()}
      WHERE organization IS NOT NULL
        AND timestamp >= ${d.sqlTimestamp(sql`${w.prevStart}`)} AND timestamp < ${d.sqlTimestamp(sql`${w.end}`)}
    ),
    per AS (
      SELECT organization,
        sum(in_month * is_act) AS events,
        count(DISTINCT CASE WHEN in_month = 1 AND is_act = 1 THEN person_id END) AS users,
        max((1 - in_month) * is_act) AS active_prev
      FROM month_events GROUP BY organization HAVING max(is_act) = 1
    ),
    cls AS (${sqlClassified(d, ctx)}),
    usage AS (
      SELECT m.event, c.icp, count(DISTINCT m.organization) AS orgs
      FROM month_events m
      JOIN per p ON p.organization = m.organization AND p.events > 0
      JOIN cls c ON c.organization = m.organization
      WHERE m.in_month = 1 AND ${sqlFeatureEvent(d, ctx.config, ctx.product, raw('m.event'))}
      GROUP BY m.event, c.icp
    )
    SELECT 'organization' AS kind, per.organization, cls.icp, per.events, per.users, per.active_prev,
      NULL AS event, 0 AS orgs
    FROM per LEFT JOIN cls ON cls.organization = per.organization
    UNION ALL
    SELECT 'feature' AS kind, NULL AS organization, icp, 0 AS events, 0 AS users, 0 AS active_prev, event, orgs
    FROM usage`);
  const active: ActiveOrgRow[] = [];
  const usage: FeatureUsageRow[] = [];
  for (const r of rows) {
    if (r.kind === 'feature') {
      usage.push({ event: r.event as string, icp: Boolean(r.icp), orgs: Number(r.orgs) });
      continue;
    }
    active.push({
      organization: r.organization as string,
      icp: r.icp === null ? null : Boolean(r.icp),
      events: Number(r.events),
      users: Number(r.users),
      active_prev: Number(r.active_prev),
    });
  }
  active.sort((a, b) => compareText(a.organization, b.organization));
  return { active, usage };
}

/**
 * Query: NPS of the last NPS_MONTHS months from classified organizations, by group, with the NPS
 * metric's rules (src/metrics/feedback/nps.ts): `survey sent` events of NPS surveys only (a survey
 * counts when every answer it got in the period is a whole number 0–10 and at least one is 0 or
 * above 5, so a 1–5 rating never does) and feedback rows of kind `nps`; one person's latest answer
 * counts once, for the organization on the event or row.
 */
export async function queryNpsByGroup(ctx: DeepDiveContext): Promise<{ icp: NpsCounts; nonIcp: NpsCounts }> {
  const d = ctx.engine.dialect;
  const from = d.sqlTimestamp(sql`${monthStart(addMonths(ctx.month, 1 - NPS_MONTHS)).toISOString()}`);
  const to = d.sqlTimestamp(sql`${monthEnd(ctx.month).toISOString()}`);
  const score = raw('score');
  const whole = sql`(${score} IS NOT NULL AND ${score} = floor(${score}) AND ${score} BETWEEN 0 AND 10)`;
  const rows = await ctx.engine.query<{
    icp: boolean;
    promoters: number;
    passives: number;
    detractors: number;
  }>(sql`
    WITH surveyed AS (
      SELECT organization, person_id, timestamp, uuid, survey, score,
        CASE WHEN ${whole} THEN 1 ELSE 0 END AS is_whole
      FROM ${await surveyEvents(ctx.engine)}
      WHERE timestamp >= ${from} AND timestamp < ${to}
    ),
    nps_surveys AS (
      SELECT survey FROM surveyed GROUP BY survey
      HAVING min(is_whole) = 1 AND max(CASE WHEN score = 0 OR score > 5 THEN 1 ELSE 0 END) = 1
    ),
    answers AS (
      SELECT organization, person_id AS person, timestamp AS answered_at, score FROM surveyed
      WHERE organization IS NOT NULL AND survey IN (SELECT survey FROM nps_surveys)
      UNION ALL
      SELECT f.organization, coalesce(p.person_id, f.distinct_id, 'email:' || f.email, 'feedback:' || f.id) AS person,
        f.created_at AS answered_at, f.score
      FROM feedback f LEFT JOIN person_distinct_ids p ON p.distinct_id = f.distinct_id
      WHERE f.kind = 'nps' AND f.organization IS NOT NULL AND f.score IS NOT NULL
        AND f.created_at >= ${from} AND f.created_at < ${to}
    ),
    latest AS (
      SELECT organization, person, ${d.sqlArgMax(raw('score'), raw('answered_at'))} AS score
      FROM answers GROUP BY organization, person
    ),
    cls AS (${sqlClassified(d, ctx)})
    SELECT c.icp,
      sum(CASE WHEN a.score >= 9 THEN 1 ELSE 0 END) AS promoters,
      sum(CASE WHEN a.score >= 7 AND a.score < 9 THEN 1 ELSE 0 END) AS passives,
      sum(CASE WHEN a.score < 7 THEN 1 ELSE 0 END) AS detractors
    FROM latest a JOIN cls c ON c.organization = a.organization
    GROUP BY c.icp`);
  const zero: NpsCounts = { promoters: 0, passives: 0, detractors: 0 };
  const pick = (icp: boolean): NpsCounts => {
    const r = rows.find((x) => Boolean(x.icp) === icp);
    return r
      ? { promoters: Number(r.promoters), passives: Number(r.passives), detractors: Number(r.detractors) }
      : zero;
  };
  return { icp: pick(true), nonIcp: pick(false) };
}

/** Query: month-end MRR (major units) of each organization, summed over its billing customers. */
export async function queryMrrByOrganization(ctx: DeepDiveContext): Promise<Map<string, number>> {
  const rows = await customerRevenueTimeline({
    engine: ctx.engine,
    asOf: ctx.asOf,
    config: ctx.config,
    product: ctx.product,
    months: [ctx.month],
  });
  const out = new Map<string, number>();
  for (const r of rows) {
    if (r.month !== ctx.month || r.organization === null) continue;
    out.set(r.organization, (out.get(r.organization) ?? 0) + r.mrr);
  }
  return out;
}

function testFeatures(usage: FeatureUsageRow[], nIcp: number, nNon: number): IcpFeature[] {
  const byEvent = new Map<string, { icp: number; non: number }>();
  for (const u of usage) {
    const c = byEvent.get(u.event) ?? { icp: 0, non: 0 };
    if (u.icp) c.icp += u.orgs;
    else c.non += u.orgs;
    byEvent.set(u.event, c);
  }
  const tested: Omit<IcpFeature, 'qValue' | 'significant'>[] = [];
  for (const [event, c] of byEvent) {
    if (c.icp + c.non < MIN_ORGANIZATIONS_USING) continue;
    const r = compareProportions({ successesA: c.icp, totalA: nIcp, successesB: c.non, totalB: nNon });
    if (r.notEnoughData) continue;
    tested.push({
      event,
      icpRate: r.proportionA,
      nonIcpRate: r.proportionB,
      difference: r.difference,
      pValue: r.pValue,
      test: r.test,
      icpOrganizations: nIcp,
      icpUsing: c.icp,
      nonIcpOrganizations: nNon,
      nonIcpUsing: c.non,
    });
  }
  const q = benjaminiHochberg(tested.map((t) => t.pValue));
  const features = tested.map((t, i) => {
    const qValue = q[i] as number;
    return { ...t, qValue, significant: qValue < SIGNIFICANCE };
  });
  return features.sort(
    (a, b) =>
      Number(b.significant) - Number(a.significant) ||
      (a.significant ? Math.abs(b.difference) - Math.abs(a.difference) : a.pValue - b.pValue) ||
      compareText(a.event, b.event),
  );
}

function featureFinding(f: IcpFeature): Finding {
  const more = f.difference > 0 ? 'ICP' : 'non-ICP';
  const ci = (k: number, n: number): [number, number] | null => {
    const w = wilsonInterval(k, n);
    return w.notEnoughData ? null : [w.interval.low, w.interval.high];
  };
  return {
    title: `${more} organizations use "${f.event}" more: ${pct(f.icpRate)} of ICP vs ${pct(f.nonIcpRate)} of non-ICP`,
    detail:
      `${f.icpUsing} of ${f.icpOrganizations} ICP and ${f.nonIcpUsing} of ${f.nonIcpOrganizations} non-ICP organizations ` +
      `did "${f.event}" this month, a difference of ${(100 * f.difference).toFixed(1)} points ` +
      `(${f.test}, p ${formatP(f.pValue)}, Benjamini–Hochberg q ${formatP(f.qValue)}).`,
    evidence: {
      test: f.test,
      pValue: f.pValue,
      qValue: f.qValue,
      correction: 'benjamini-hochberg',
      icp: {
        using: f.icpUsing,
        of: f.icpOrganizations,
        rate: f.icpRate,
        interval95: ci(f.icpUsing, f.icpOrganizations),
      },
      nonIcp: {
        using: f.nonIcpUsing,
        of: f.nonIcpOrganizations,
        rate: f.nonIcpRate,
        interval95: ci(f.nonIcpUsing, f.nonIcpOrganizations),
      },
    },
  };
}

function retentionComparison(active: ActiveOrgRow[]): Comparison {
  const prev = active.filter((o) => o.active_prev === 1 && o.icp !== null);
  const a = prev.filter((o) => o.icp);
  const b = prev.filter((o) => !o.icp);
  const retainedA = a.filter((o) => o.events > 0).length;
  const retainedB = b.filter((o) => o.events > 0).length;
  const r = compareProportions({
    successesA: retainedA,
    totalA: a.length,
    successesB: retainedB,
    totalB: b.length,
  });
  const rates = r.notEnoughData ? null : { icp: r.proportionA, nonIcp: r.proportionB };
  return {
    name: 'retention',
    title: rates
      ? `Retention: ${pct(rates.icp)} of ICP vs ${pct(rates.nonIcp)} of non-ICP organizations active last month are active again`
      : 'Retention by group: not enough data',
    detail: `${retainedA} of ${a.length} ICP and ${retainedB} of ${b.length} non-ICP organizations active last month were active this month.`,
    pValue: r.notEnoughData ? null : r.pValue,
    evidence: {
      test: r.test,
      ...(r.notEnoughData ? { reason: r.reason } : { pValue: r.pValue }),
      icp: { retained: retainedA, of: a.length },
      nonIcp: { retained: retainedB, of: b.length },
    },
  };
}

function distributionComparison(
  name: string,
  label: string,
  unit: string,
  icp: number[],
  nonIcp: number[],
  /** Money comparisons are written in the one money format; other values with 2 decimals. */
  currency?: string,
): Comparison {
  const r = mannWhitneyU(icp, nonIcp);
  const stats = (v: number[]): Record<string, number | null> => ({
    n: v.length,
    median: median(v),
    mean: mean(v),
  });
  const fmt = (x: number | null): string =>
    x === null ? 'n/a' : currency ? formatMoney(x, currency) : x.toFixed(2);
  return {
    name,
    title: `${label}: median ${fmt(median(icp))} for ICP vs ${fmt(median(nonIcp))} for non-ICP organizations`,
    detail: `${label} (${unit}) over ${icp.length} ICP and ${nonIcp.length} non-ICP active organizations; means ${fmt(mean(icp))} vs ${fmt(mean(nonIcp))}.`,
    pValue: r.notEnoughData ? null : r.pValue,
    evidence: {
      test: r.test,
      ...(r.notEnoughData
        ? { reason: r.reason }
        : { pValue: r.pValue, probabilityOfSuperiority: r.probabilityOfSuperiority }),
      icp: stats(icp),
      nonIcp: stats(nonIcp),
    },
  };
}

function npsComparison(counts: { icp: NpsCounts; nonIcp: NpsCounts }): Comparison {
  const a = npsWithInterval(counts.icp);
  const b = npsWithInterval(counts.nonIcp);
  const test = 'nps-difference-z-test';
  const show = (r: typeof a): Record<string, unknown> =>
    r.notEnoughData
      ? { reason: r.reason }
      : { nps: r.nps, n: r.n, interval95: [r.interval.low, r.interval.high] };
  if (a.notEnoughData || b.notEnoughData) {
    return {
      name: 'nps',
      title: 'NPS by group: not enough responses',
      detail: `NPS needs at least 10 responses per group over the last ${NPS_MONTHS} months.`,
      pValue: null,
      evidence: { test, icp: show(a), nonIcp: show(b) },
    };
  }
  const se = Math.sqrt(a.standardError ** 2 + b.standardError ** 2);
  const pValue = se === 0 ? 1 : normalTwoSidedP((a.nps - b.nps) / se);
  return {
    name: 'nps',
    title: `NPS: ${a.nps.toFixed(0)} for ICP vs ${b.nps.toFixed(0)} for non-ICP organizations`,
    detail: `From ${a.n} ICP and ${b.n} non-ICP responses over the last ${NPS_MONTHS} months.`,
    pValue,
    evidence: { test, pValue, icp: show(a), nonIcp: show(b) },
  };
}

function notEnough(summary: string, method: string, data: Record<string, unknown>): DeepDive {
  return { id: ID, question: QUESTION, summary, method, findings: [], data: { features: [], ...data } };
}

/** The method, in words (pure). */
export function icpVsNonIcpMethod(ctx: Pick<DeepDiveContext, 'config' | 'month'>): string {
  const rule = ctx.config.icp.all;
  return (
    `Organizations active in ${ctx.month} split by the ICP rule (${hasIcpRule(rule) ? describeIcpRule(rule) : 'none configured'}). ` +
    `For each event used by at least ${MIN_ORGANIZATIONS_USING} organizations: share of each group's organizations that did it, ` +
    `Fisher's exact test when an expected count is below 5 else the two-proportion z-test, Benjamini–Hochberg across events; ` +
    `significant (q < ${SIGNIFICANCE}) differences ranked by size. Also retention (proportions test), events per active user and ` +
    `month-end MRR per organization (Mann–Whitney U), NPS of the last ${NPS_MONTHS} months (z-test on the difference), ` +
    `Benjamini–Hochberg across these four. Needs ${MIN_ORGANIZATIONS_PER_GROUP} active organizations per group. ` +
    `Caveat: an organization with more people is likelier to have someone do any event, so broad events can differ by size alone.`
  );
}

/** Active organizations by group (pure): the month's active ones, ICP, non-ICP, unclassified. */
function groupsOf(active: ActiveOrgRow[]): {
  icp: ActiveOrgRow[];
  nonIcp: ActiveOrgRow[];
  unclassified: number;
} {
  const inMonth = active.filter((o) => o.events > 0);
  return {
    icp: inMonth.filter((o) => o.icp === true),
    nonIcp: inMonth.filter((o) => o.icp === false),
    unclassified: inMonth.filter((o) => o.icp === null).length,
  };
}

const enoughGroups = (g: ReturnType<typeof groupsOf>): boolean =>
  g.icp.length >= MIN_ORGANIZATIONS_PER_GROUP && g.nonIcp.length >= MIN_ORGANIZATIONS_PER_GROUP;

/**
 * What the queries found. `mrr` and `nps` are read only when both groups are large enough
 * (null otherwise); `active` and `usage` are null when no ICP rule is configured.
 */
export interface IcpFacts {
  active: ActiveOrgRow[] | null;
  usage: FeatureUsageRow[];
  mrr: Map<string, number> | null;
  nps: { icp: NpsCounts; nonIcp: NpsCounts } | null;
}

async function run(ctx: DeepDiveContext): Promise<DeepDive> {
  const q = <T>(name: string, fn: () => Promise<T>): Promise<T> => timedQuery(ctx, ID, name, fn);
  if (!hasIcpRule(ctx.config.icp.all))
    return formatIcpVsNonIcp(ctx, { active: null, usage: [], mrr: null, nps: null });
  const { active, usage } = await q('month usage', () => queryMonthUsage(ctx));
  if (!enoughGroups(groupsOf(active))) return formatIcpVsNonIcp(ctx, { active, usage, mrr: null, nps: null });
  const mrr = await q('mrr by organization', () => queryMrrByOrganization(ctx));
  const nps = await q('nps by group', () => queryNpsByGroup(ctx));
  return formatIcpVsNonIcp(ctx, { active, usage, mrr, nps });
}

/** Pure: the dive from what the queries found (no SQL). */
export function formatIcpVsNonIcp(
  ctx: Pick<DeepDiveContext, 'config' | 'month' | 'product'>,
  found: IcpFacts,
): DeepDive {
  const rule = ctx.config.icp.all;
  const method = icpVsNonIcpMethod(ctx);
  if (!hasIcpRule(rule) || found.active === null) {
    return notEnough(`Not enough data: no ICP rule is configured; ${ICP_RULE_HOWTO}.`, method, {
      rule: null,
    });
  }

  const { active, usage } = found;
  const groups = groupsOf(active);
  const icpOrgs = groups.icp;
  const nonIcpOrgs = groups.nonIcp;
  const sizes = {
    rule: describeIcpRule(rule),
    icpOrganizations: icpOrgs.length,
    nonIcpOrganizations: nonIcpOrgs.length,
    unclassifiedOrganizations: groups.unclassified,
  };
  if (!enoughGroups(groups) || found.mrr === null || found.nps === null) {
    return notEnough(
      `Not enough data: ${icpOrgs.length} ICP and ${nonIcpOrgs.length} non-ICP organizations were active in ${ctx.month}; ` +
        `comparing them needs at least ${MIN_ORGANIZATIONS_PER_GROUP} in each group.`,
      method,
      sizes,
    );
  }

  const features = testFeatures(usage, icpOrgs.length, nonIcpOrgs.length);
  const significant = features.filter((f) => f.significant);

  const mrr = found.mrr;
  const mrrOf = (o: ActiveOrgRow): number => mrr.get(o.organization) ?? 0;
  const intensity = (o: ActiveOrgRow): number => o.events / Math.max(1, o.users);
  const comparisons = [
    retentionComparison(active),
    distributionComparison(
      'usageIntensity',
      'Events per active user',
      'activity events ÷ active users, per organization',
      icpOrgs.map(intensity),
      nonIcpOrgs.map(intensity),
    ),
    mrr.size === 0
      ? {
          name: 'revenuePerOrganization',
          title: 'MRR per organization: no billing data',
          detail: `No revenue is linked to organizations for ${ctx.product.name} in ${ctx.month}.`,
          pValue: null,
          evidence: { test: 'mann-whitney-u', reason: 'no billing data linked to organizations' },
        }
      : distributionComparison(
          'revenuePerOrganization',
          'MRR per organization',
          `month-end MRR in ${ctx.config.reporting.currency}, 0 when not paying`,
          icpOrgs.map(mrrOf),
          nonIcpOrgs.map(mrrOf),
          ctx.config.reporting.currency,
        ),
    npsComparison(found.nps),
  ];
  const q = benjaminiHochberg(comparisons.map((c) => c.pValue));

  const findings: Finding[] = significant.slice(0, MAX_FEATURE_FINDINGS).map(featureFinding);
  const groupData: Record<string, unknown> = {};
  comparisons.forEach((c, i) => {
    const qValue = q[i] ?? null;
    groupData[c.name] = { ...c.evidence, qValue };
    if (qValue !== null && qValue < SIGNIFICANCE) {
      findings.push({
        title: c.title,
        detail: c.detail,
        evidence: { ...c.evidence, qValue, correction: 'benjamini-hochberg' },
      });
    }
  });

  const top = significant[0];
  const summary = top
    ? `${significant.length} of ${features.length} events differ significantly between ${icpOrgs.length} ICP and ${nonIcpOrgs.length} non-ICP ` +
      `organizations active in ${ctx.month} (q < ${SIGNIFICANCE}); the largest: "${top.event}", used by ${pct(top.icpRate)} of ICP vs ` +
      `${pct(top.nonIcpRate)} of non-ICP organizations.`
    : `No event's usage differs significantly between ${icpOrgs.length} ICP and ${nonIcpOrgs.length} non-ICP organizations active in ` +
      `${ctx.month} (${features.length} events tested, Benjamini–Hochberg q < ${SIGNIFICANCE}).`;

  return {
    id: ID,
    question: QUESTION,
    summary,
    method,
    findings,
    data: { ...sizes, eventsTested: features.length, features, ...groupData },
  };
}

export const icpVsNonIcp: DeepDiveRunner = { id: ID, question: QUESTION, run };

/**
 * Deep dive `churn-reasons`: why was churn high last month? (docs/analyses.md#churn-reasons)
 *
 * Unit: a paying organization (its billing customers summed, revenue/customer-mrr.ts); a billing
 * customer linked to no organization is its own unit. At risk in month m: month-start MRR > 0
 * (MRR at the end of m − 1). Churned in m: at risk and month-end MRR 0.
 *
 * 1. Was it high? The review month's customer churn rate (churned ÷ at risk) with its Wilson 95%
 *    interval, against the pooled rate of the TRAILING_MONTHS months before (Σ churned ÷ Σ at
 *    risk), compared with Fisher's exact test when an expected count is below 5, else the
 *    two-proportion z-test (stats `compareProportions`, which names the test). High: the month's
 *    rate above the trailing rate with p < SIGNIFICANCE. Churned MRR is shown against the trailing
 *    months' mean.
 * 2. The churned units and the MRR they took (their month-start MRR), largest first.
 * 3. Drivers, over the units at risk in the month: for each segment (dimension = value), the churn
 *    rate inside it against the rest (the baseline), lift = rate ÷ baseline, and a p-value
 *    (`compareProportions`: Fisher's exact test for small counts), Benjamini–Hochberg across every
 *    segment tested. Dimensions: plan, billing interval, currency (month-start, of the unit's
 *    largest customer), tenure (months paying, from the first paid month-end within the last
 *    HISTORY_MONTHS), every organization property found in the data, as it was at the month's
 *    start (`$groupidentify` history; a name clashing with the above gets an `organization `
 *    prefix) (numeric ones in three
 *    buckets cut at the at-risk units' tertiles, categorical ones when they have at most
 *    MAX_CATEGORIES values and at most a quarter as many values as units; `$`-prefixed ones
 *    skipped), product usage (active people in the two months before the month vs the two before
 *    those: declined by 30% or more / did not / no usage), tickets in the month and the two before,
 *    and NPS answers of the last NPS_MONTHS months (mean 0–6: detractor). A segment needs
 *    MIN_SEGMENT units and a non-empty rest; a two-valued dimension is tested once (both sides
 *    give the same p-value). Drivers are the segments churning more than their baseline:
 *    significant ones (q < SIGNIFICANCE) first by lift, then the rest by p-value. Not computed
 *    ("not enough data") with fewer than MIN_CHURNED churned units.
 * 4. Cancellation reasons: `cancellation` feedback created in the month or up to
 *    REASON_LOOKBACK_DAYS days before it, grouped into themes (analyses/themes.ts), each with its
 *    count and an example quote (untrusted text, returned as data).
 */
import {
  addMonths,
  monthEnd,
  monthStart,
  monthsBetween,
  monthsEndingAt,
  type Month,
} from '../../domain/month.js';
import { formatMoney } from '../../domain/money-format.js';
import type { DeepDive, Finding } from '../../domain/review.js';
import { customerRevenueTimeline, type CustomerRevenueRow } from '../../metrics/revenue/customer-mrr.js';
import { join, raw, sql } from '../../store/sql.js';
import {
  benjaminiHochberg,
  compareProportions,
  lift as liftOf,
  quantile,
  wilsonInterval,
} from '../stats/index.js';
import { groupIntoThemes, type Theme } from '../themes.js';
import {
  activityByOrganization,
  cancellationFeedback,
  npsByOrganization,
  ticketsByOrganization,
  type CancellationFeedback,
  type OrganizationActivity,
  type OrganizationNps,
} from './organization-facts.js';
import { chiSquareUpperTail } from '../stats/jstat.js';
import { formatP } from './text.js';
import { timedQuery } from './timed.js';
import type { DeepDiveContext, DeepDiveRunner } from './types.js';
import { compareNullableText, compareText } from '../../domain/order.js';

export const TRAILING_MONTHS = 6;
export const MIN_CHURNED = 5;
export const MIN_SEGMENT = 5;
export const MAX_CATEGORIES = 12;
export const SIGNIFICANCE = 0.05;
export const USAGE_DECLINE = 0.3;
export const REASON_LOOKBACK_DAYS = 30;
const HISTORY_MONTHS = 24;
const NPS_MONTHS = 6;
const MAX_DRIVER_FINDINGS = 3;

const ID = 'churn-reasons';
const QUESTION = 'Why was churn high last month?';

export interface ChurnedCustomer {
  /** The organization (group key), or null for a billing customer linked to none. */
  organization: string | null;
  name: string | null;
  customerIds: string[];
  /** MRR lost: month-start MRR, major units of reporting.currency. */
  mrr: number;
}

export interface ChurnDriver {
  dimension: string;
  value: string;
  churnRate: number;
  /** Churn rate of the other units at risk. */
  baselineRate: number;
  /** churnRate ÷ baselineRate; null when the baseline is 0. */
  lift: number | null;
  pValue: number;
  qValue: number;
  significant: boolean;
  test: string;
  atRisk: number;
  churned: number;
  restAtRisk: number;
  restChurned: number;
  /** MRR lost in the segment. */
  churnedMrr: number;
  /**
   * A stronger driver that splits the same customers and explains this one: within its strata
   * this segment churns no more than the rest (Cochran–Mantel–Haenszel). Not significant then.
   */
  explainedBy?: string | null;
  /** The Mantel–Haenszel p-value of this segment stratified by `explainedBy`'s. */
  stratifiedPValue?: number | null;
}

interface Unit {
  key: string;
  organization: string | null;
  name: string | null;
  customerIds: string[];
  startMrr: number;
  endMrr: number;
  /** month-start attributes: of the unit's largest customer at the end of the previous month. */
  plan: string | null;
  interval: string | null;
  currency: string | null;
  tenureMonths: number;
}

interface MonthChurn {
  month: Month;
  atRisk: number;
  churned: number;
  churnedMrr: number;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const unitKey = (r: CustomerRevenueRow): string => r.organization ?? `customer:${r.customerId}`;

/** Per unit and month: MRR at the start and end of the month (sums over the unit's customers). */
function unitMonths(rows: CustomerRevenueRow[]): Map<string, Map<Month, { start: number; end: number }>> {
  const out = new Map<string, Map<Month, { start: number; end: number }>>();
  for (const r of rows) {
    const byMonth = out.get(unitKey(r)) ?? new Map<Month, { start: number; end: number }>();
    const v = byMonth.get(r.month) ?? { start: 0, end: 0 };
    v.start += r.previousMrr;
    v.end += r.mrr;
    byMonth.set(r.month, v);
    out.set(unitKey(r), byMonth);
  }
  return out;
}

function churnByMonth(units: ReturnType<typeof unitMonths>, months: Month[]): MonthChurn[] {
  return months.map((month) => {
    let atRisk = 0;
    let churned = 0;
    let churnedMrr = 0;
    for (const byMonth of units.values()) {
      const v = byMonth.get(month);
      if (!v || v.start <= 0) continue;
      atRisk++;
      if (v.end <= 0) {
        churned++;
        churnedMrr += v.start;
      }
    }
    return { month, atRisk, churned, churnedMrr };
  });
}

/** The units at risk in the review month with their month-start attributes. */
function atRiskUnits(rows: CustomerRevenueRow[], month: Month): Unit[] {
  const prev = addMonths(month, -1);
  const firstPaid = new Map<string, Month>();
  for (const r of rows) {
    if (r.mrr > 0 && !firstPaid.has(unitKey(r))) firstPaid.set(unitKey(r), r.month);
  }
  const units = new Map<string, Unit & { largest: number }>();
  for (const r of rows) {
    if (r.month !== month || r.previousMrr <= 0) continue;
    const key = unitKey(r);
    const u = units.get(key) ?? {
      key,
      organization: r.organization,
      name: r.name,
      customerIds: [],
      startMrr: 0,
      endMrr: 0,
      plan: null,
      interval: null,
      currency: null,
      tenureMonths: monthsBetween(firstPaid.get(key) ?? prev, prev) + 1,
      largest: -1,
    };
    u.customerIds.push(r.customerId);
    u.startMrr += r.previousMrr;
    u.endMrr += r.mrr;
    u.name ??= r.name;
    units.set(key, u);
  }
  // Month-start plan, interval and currency: the previous month's row of the largest customer.
  for (const r of rows) {
    if (r.month !== prev || r.mrr <= 0) continue;
    const u = units.get(unitKey(r));
    if (!u || r.mrr <= u.largest) continue;
    u.largest = r.mrr;
    u.plan = r.plan;
    u.interval = r.interval;
    u.currency = r.currency;
  }
  return [...units.values()]
    .map(({ largest: _largest, ...u }) => u)
    .sort((a, b) => compareText(a.key, b.key));
}

function tenureBucket(months: number): string {
  if (months < 3) return '< 3 months';
  if (months < 6) return '3–5 months';
  if (months < 12) return '6–11 months';
  return '12+ months';
}

function parseProperties(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

/** Segment labels per unit for every organization property worth testing (see file comment). */
function propertyDimensions(
  units: Unit[],
  properties: Map<string, Record<string, unknown>>,
): Map<string, Map<string, string>> {
  const keys = new Set<string>();
  for (const p of properties.values()) for (const k of Object.keys(p)) if (!k.startsWith('$')) keys.add(k);
  const out = new Map<string, Map<string, string>>();
  for (const key of [...keys].sort()) {
    const values = new Map<string, unknown>();
    for (const u of units) {
      const v = u.organization === null ? undefined : properties.get(u.organization)?.[key];
      if (v !== undefined && v !== null && v !== '') values.set(u.key, v);
    }
    if (values.size < MIN_SEGMENT) continue;
    const labels = new Map<string, string>();
    const numbers = [...values.values()].filter(
      (v): v is number => typeof v === 'number' && Number.isFinite(v),
    );
    const distinct = new Set([...values.values()].map((v) => JSON.stringify(v)));
    if (numbers.length === values.size && distinct.size > 3) {
      const sorted = [...numbers].sort((a, b) => a - b);
      const cuts = [...new Set([quantile(sorted, 1 / 3), quantile(sorted, 2 / 3)])].filter(
        (c): c is number => c !== null,
      );
      const fmt = (x: number): string => String(Number(x.toPrecision(3)));
      for (const [unit, v] of values) {
        const n = v as number;
        const i = cuts.filter((c) => n >= c).length;
        const low = cuts[i - 1];
        const high = cuts[i];
        labels.set(
          unit,
          low === undefined
            ? `< ${fmt(high as number)}`
            : high === undefined
              ? `≥ ${fmt(low)}`
              : `${fmt(low)}–${fmt(high)}`,
        );
      }
    } else {
      if (distinct.size > MAX_CATEGORIES || distinct.size * 4 > units.length) continue;
      for (const [unit, v] of values) labels.set(unit, typeof v === 'string' ? v : JSON.stringify(v));
    }
    out.set(key, labels);
  }
  return out;
}

/** Query: the stored (latest) properties of the organizations. */
export async function queryOrganizationProperties(
  ctx: DeepDiveContext,
  organizations: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  if (organizations.length === 0) return new Map();
  const list = join(organizations.map((o) => sql`${o}`));
  const rows = await ctx.engine.query<{ group_key: string; properties: unknown }>(sql`
    SELECT group_key, properties FROM groups
    WHERE group_type = 'organization' AND group_key IN (${list})`);
  return new Map(rows.map((r) => [r.group_key, parseProperties(r.properties)]));
}

/** One `$groupidentify` of an organization: when, and the properties it set. */
export interface PropertySet {
  organization: string;
  at: Date;
  set: Record<string, unknown>;
}

/** Query: every `$groupidentify` of the organizations, in time order (ties by uuid). */
export async function queryPropertySets(
  ctx: DeepDiveContext,
  organizations: readonly string[],
): Promise<PropertySet[]> {
  if (organizations.length === 0) return [];
  const d = ctx.engine.dialect;
  const list = join(organizations.map((o) => sql`${o}`));
  const key = d.sqlJsonString(raw('properties'), ['$group_key']);
  const sets = await ctx.engine.query<{ k: string; at: string; group_set: string | null }>(sql`
    SELECT ${key} AS k, timestamp AS at, ${d.sqlJsonString(raw('properties'), ['$group_set'])} AS group_set
    FROM events
    WHERE event = '$groupidentify' AND ${d.sqlJsonString(raw('properties'), ['$group_type'])} = 'organization'
      AND ${key} IN (${list})
    ORDER BY timestamp, uuid`);
  return sets.map((r) => ({ organization: r.k, at: new Date(r.at), set: parseProperties(r.group_set) }));
}

/**
 * Pure: organization properties as they were at `asOf`: the stored (latest) properties, except
 * that a key some `$groupidentify` set at or after `asOf` takes its value from the last such
 * event before `asOf`, or is dropped when none set it before. So a property updated because the
 * organization churned (e.g. plan: free) does not "explain" the churn.
 */
export function propertiesAsOf(
  stored: ReadonlyMap<string, Record<string, unknown>>,
  sets: readonly PropertySet[],
  asOf: Date,
): Map<string, Record<string, unknown>> {
  const out = new Map(stored);
  const before = new Map<string, Record<string, unknown>>();
  const changedLater = new Map<string, Set<string>>();
  for (const r of sets) {
    if (r.at < asOf) before.set(r.organization, { ...before.get(r.organization), ...r.set });
    else
      for (const k of Object.keys(r.set))
        changedLater.set(r.organization, (changedLater.get(r.organization) ?? new Set()).add(k));
  }
  for (const [org, keys] of changedLater) {
    const props = { ...out.get(org) };
    const old = before.get(org) ?? {};
    for (const k of keys) {
      if (k in old) props[k] = old[k];
      else delete props[k];
    }
    out.set(org, props);
  }
  return out;
}

/** Query: active people per organization in the two months before the review month and the two before those. */
export function queryUsageBeforeChurn(
  ctx: DeepDiveContext,
  organizations: readonly string[],
): Promise<Map<string, OrganizationActivity>> {
  const month = ctx.month;
  return activityByOrganization(ctx, organizations, [
    { from: addMonths(month, -4), to: addMonths(month, -3) },
    { from: addMonths(month, -2), to: addMonths(month, -1) },
  ]);
}

/** Query: tickets per organization in the review month and the two before. */
export function queryTicketsBeforeChurn(
  ctx: DeepDiveContext,
  organizations: readonly string[],
): Promise<Map<string, number[]>> {
  return ticketsByOrganization(ctx, organizations, [{ from: addMonths(ctx.month, -2), to: ctx.month }]);
}

/** Query: NPS answers per organization over the last NPS_MONTHS months. */
export function queryNpsBeforeChurn(
  ctx: DeepDiveContext,
  organizations: readonly string[],
): Promise<Map<string, OrganizationNps>> {
  return npsByOrganization(ctx, organizations, { from: addMonths(ctx.month, 1 - NPS_MONTHS), to: ctx.month });
}

/** What the driver queries found about the organizations at risk. */
export interface SegmentFacts {
  /** Stored organization properties and their `$groupidentify` history. */
  properties: Map<string, Record<string, unknown>>;
  propertySets: PropertySet[];
  activity: Map<string, OrganizationActivity>;
  tickets: Map<string, number[]>;
  nps: Map<string, OrganizationNps>;
}

/** Pure: every dimension → (unit key → segment value) for the units at risk. */
function segmentLabels(month: Month, units: Unit[], found: SegmentFacts): Map<string, Map<string, string>> {
  const dims = new Map<string, Map<string, string>>();
  const fromUnits = (f: (u: Unit) => string | null): Map<string, string> =>
    new Map(units.flatMap((u) => (f(u) === null ? [] : [[u.key, f(u) as string] as [string, string]])));
  dims.set(
    'plan',
    fromUnits((u) => u.plan),
  );
  dims.set(
    'billing interval',
    fromUnits((u) => u.interval),
  );
  dims.set(
    'currency',
    fromUnits((u) => u.currency),
  );
  dims.set(
    'tenure',
    fromUnits((u) => tenureBucket(u.tenureMonths)),
  );
  const properties = propertiesAsOf(found.properties, found.propertySets, monthStart(month));
  for (const [k, v] of propertyDimensions(units, properties))
    dims.set(dims.has(k) ? `organization ${k}` : k, v);

  const activity = found.activity;
  dims.set(
    'usage before churn',
    fromUnits((u) => {
      if (u.organization === null) return null;
      const [before = 0, recent = 0] = activity.get(u.organization)?.users ?? [];
      if (before === 0 && recent === 0) return 'no usage';
      return recent <= (1 - USAGE_DECLINE) * before ? 'declined' : 'steady or growing';
    }),
  );
  const tickets = found.tickets;
  dims.set(
    'tickets before churn',
    fromUnits((u) =>
      u.organization === null
        ? null
        : (tickets.get(u.organization)?.[0] ?? 0) > 0
          ? 'had tickets'
          : 'no tickets',
    ),
  );
  const nps = found.nps;
  dims.set(
    'NPS',
    fromUnits((u) => {
      const n = u.organization === null ? undefined : nps.get(u.organization);
      if (!n) return 'no answer';
      return n.meanScore < 7 ? 'detractor' : 'passive or promoter';
    }),
  );
  return dims;
}

function testSegments(units: Unit[], dims: Map<string, Map<string, string>>): ChurnDriver[] {
  const churned = new Set(units.filter((u) => u.endMrr <= 0).map((u) => u.key));
  const lost = new Map(units.map((u) => [u.key, u.startMrr]));
  const tested: Omit<ChurnDriver, 'qValue' | 'significant'>[] = [];
  const membersOf = new Map<string, Set<string>>();
  for (const [dimension, labels] of dims) {
    const byValue = new Map<string, string[]>();
    for (const [unit, value] of labels) byValue.set(value, [...(byValue.get(value) ?? []), unit]);
    const candidates: Omit<ChurnDriver, 'qValue' | 'significant'>[] = [];
    for (const [value, members] of [...byValue].sort((a, b) => compareText(a[0], b[0]))) {
      const inSegment = new Set(members);
      membersOf.set(`${dimension}\u0000${value}`, inSegment);
      const rest = units.filter((u) => !inSegment.has(u.key));
      if (members.length < MIN_SEGMENT || rest.length === 0) continue;
      const k = members.filter((m) => churned.has(m)).length;
      const restK = rest.filter((u) => churned.has(u.key)).length;
      const r = compareProportions({
        successesA: k,
        totalA: members.length,
        successesB: restK,
        totalB: rest.length,
      });
      if (r.notEnoughData) continue;
      candidates.push({
        dimension,
        value,
        churnRate: r.proportionA,
        baselineRate: r.proportionB,
        lift: liftOf(r.proportionA, r.proportionB),
        pValue: r.pValue,
        test: r.test,
        atRisk: members.length,
        churned: k,
        restAtRisk: rest.length,
        restChurned: restK,
        churnedMrr: members.filter((m) => churned.has(m)).reduce((s, m) => s + (lost.get(m) ?? 0), 0),
      });
    }
    // Two values covering everyone: one table, tested once (the side that churned more).
    if (byValue.size === 2 && labels.size === units.length && candidates.length === 2) {
      candidates.sort((a, b) => b.churnRate - a.churnRate);
      candidates.length = 1;
    }
    tested.push(...candidates);
  }
  const q = benjaminiHochberg(tested.map((t) => t.pValue));
  const drivers: (ChurnDriver & { members: Set<string> })[] = tested.map((t, i) => {
    const qValue = q[i] as number;
    return {
      ...t,
      qValue,
      significant: qValue < SIGNIFICANCE && t.churnRate > t.baselineRate,
      members: membersOf.get(`${t.dimension}\u0000${t.value}`) as Set<string>,
    };
  });
  controlConfounding(
    drivers.filter((d) => d.significant),
    units.map((u) => u.key),
    churned,
  );
  return drivers
    .filter((t) => t.churnRate > t.baselineRate)
    .sort(
      (a, b) =>
        Number(b.significant) - Number(a.significant) ||
        a.pValue - b.pValue ||
        (b.lift ?? Infinity) - (a.lift ?? Infinity) ||
        compareText(a.dimension, b.dimension) ||
        compareText(a.value, b.value),
    )
    .map(({ members: _members, ...d }) => d);
}

/**
 * Cochran–Mantel–Haenszel test of "in segment" vs churn, stratified by membership of another
 * segment (2 strata): the continuity-corrected statistic (|Σ(a − E[a])| − ½)² / Σ Var[a] on one
 * degree of freedom, one-sided for more churn in the segment (half the two-sided tail when the
 * excess is positive, 1 otherwise). Strata without both kinds of unit or both outcomes carry no
 * information; with none left the test says nothing (p = 1).
 */
export function mantelHaenszel(
  segment: ReadonlySet<string>,
  stratum: ReadonlySet<string>,
  units: readonly string[],
  churned: ReadonlySet<string>,
): number {
  let excess = 0;
  let variance = 0;
  for (const inStratum of [true, false]) {
    const here = units.filter((u) => stratum.has(u) === inStratum);
    const n = here.length;
    if (n < 2) continue;
    const row1 = here.filter((u) => segment.has(u)).length;
    const col1 = here.filter((u) => churned.has(u)).length;
    const a = here.filter((u) => segment.has(u) && churned.has(u)).length;
    excess += a - (row1 * col1) / n;
    variance += (row1 * (n - row1) * col1 * (n - col1)) / (n * n * (n - 1));
  }
  if (variance <= 0 || excess <= 0) return 1;
  const statistic = Math.max(0, Math.abs(excess) - 0.5) ** 2 / variance;
  return Math.min(1, chiSquareUpperTail(statistic, 1) / 2);
}

/**
 * Confounded dimensions: when two significant drivers of different dimensions split overlapping
 * customers (plan = Starter and billing interval = month: every Starter plan is monthly), each is
 * tested within the strata of the other. A driver that no longer churns more within the other's
 * strata (Mantel–Haenszel p ≥ SIGNIFICANCE) while the other still does is explained by it; when
 * neither survives the other (the same customers, near enough), the one with the smaller p-value
 * is kept. An explained driver is marked `explainedBy` and is no longer significant.
 */
function controlConfounding(
  drivers: (ChurnDriver & { members: Set<string> })[],
  units: readonly string[],
  churned: ReadonlySet<string>,
): void {
  const ordered = [...drivers].sort((a, b) => a.pValue - b.pValue || compareText(a.dimension, b.dimension));
  for (let i = 0; i < ordered.length; i++) {
    const strong = ordered[i] as ChurnDriver & { members: Set<string> };
    if (!strong.significant) continue;
    for (let j = i + 1; j < ordered.length; j++) {
      const weak = ordered[j] as ChurnDriver & { members: Set<string> };
      if (!weak.significant || weak.dimension === strong.dimension) continue;
      const overlap = [...weak.members].some((m) => strong.members.has(m));
      if (!overlap) continue;
      const weakGivenStrong = mantelHaenszel(weak.members, strong.members, units, churned);
      const strongGivenWeak = mantelHaenszel(strong.members, weak.members, units, churned);
      if (weakGivenStrong >= SIGNIFICANCE) {
        // Explained, unless it is the other way round (then the stronger one is the weak one).
        const loser = strongGivenWeak < SIGNIFICANCE || strong.pValue <= weak.pValue ? weak : strong;
        const winner = loser === weak ? strong : weak;
        loser.significant = false;
        loser.explainedBy = `${winner.dimension} = ${winner.value}`;
        loser.stratifiedPValue = loser === weak ? weakGivenStrong : strongGivenWeak;
        if (loser === strong) break;
      }
    }
  }
}

function driverFinding(d: ChurnDriver, currency: string): Finding {
  const liftText = d.lift === null ? 'none of the rest churned' : `${d.lift.toFixed(1)}× the rest`;
  return {
    title: `Churn concentrated in ${d.dimension} = ${d.value}: ${pct(d.churnRate)} vs ${pct(d.baselineRate)} for the rest`,
    detail:
      `${d.churned} of ${d.atRisk} customers with ${d.dimension} = ${d.value} churned against ${d.restChurned} of ${d.restAtRisk} ` +
      `of the rest (${liftText}; ${d.test}, p ${formatP(d.pValue)}, Benjamini–Hochberg q ${formatP(d.qValue)}), ` +
      `taking ${formatMoney(d.churnedMrr, currency)} of MRR.`,
    evidence: {
      test: d.test,
      pValue: d.pValue,
      qValue: d.qValue,
      correction: 'benjamini-hochberg',
      lift: d.lift,
      segment: { dimension: d.dimension, value: d.value, atRisk: d.atRisk, churned: d.churned },
      rest: { atRisk: d.restAtRisk, churned: d.restChurned },
      mrrAtStake: d.churnedMrr,
      metricIds: ['customer_churn_rate', 'churned_customers', 'churned_mrr'],
    },
  };
}

/** The method, in words (pure). */
export function churnReasonsMethod(month: Month): string {
  return (
    `Paying organizations (billing customers summed; unlinked customers on their own) at risk in ${month}: month-start MRR > 0; ` +
    `churned: month-end MRR 0. The month's churn rate with a Wilson 95% interval against the pooled rate of the ` +
    `${TRAILING_MONTHS} months before (Fisher's exact test when an expected count is below 5, else the two-proportion z-test). ` +
    `Drivers: churn rate in each segment (plan, billing interval, currency, tenure, organization properties, usage decline ` +
    `≥ ${100 * USAGE_DECLINE}% over the two months before, tickets, NPS) vs the rest, lift, the same tests, Benjamini–Hochberg ` +
    `across all segments (segments of at least ${MIN_SEGMENT}; needs ${MIN_CHURNED} churned). Confounded dimensions: two ` +
    `significant segments of different dimensions that share customers (plan and billing interval) are each tested within ` +
    `the other's strata (Cochran–Mantel–Haenszel); one that no longer churns more there is explained by the other and not ` +
    `reported as a driver (the stronger, by p-value, is kept when both vanish). Cancellation feedback of the ` +
    `month and the ${REASON_LOOKBACK_DAYS} days before grouped into themes.`
  );
}

/** The first day cancellation reasons are read from: REASON_LOOKBACK_DAYS before the month. */
const reasonsFromOf = (month: Month): Date =>
  new Date(monthStart(month).getTime() - REASON_LOOKBACK_DAYS * 86_400_000);

/** Query: each billing customer's MRR at the start and end of every month of the history. */
export function queryChurnTimeline(ctx: DeepDiveContext): Promise<CustomerRevenueRow[]> {
  return customerRevenueTimeline({
    engine: ctx.engine,
    asOf: ctx.asOf,
    config: ctx.config,
    product: ctx.product,
    months: monthsEndingAt(ctx.month, HISTORY_MONTHS + 1),
  });
}

/** Query: cancellation feedback of the month and the REASON_LOOKBACK_DAYS before it. */
export function queryCancellationReasons(ctx: DeepDiveContext): Promise<CancellationFeedback[]> {
  return cancellationFeedback(ctx, reasonsFromOf(ctx.month), monthEnd(ctx.month));
}

/** What the queries found; `segments` is null when drivers are not looked for. */
export interface ChurnFacts {
  rows: CustomerRevenueRow[];
  feedback: CancellationFeedback[];
  segments: SegmentFacts | null;
}

/** Pure: whether the month has enough churned units to look for drivers (and any unit at risk). */
function needsDrivers(rows: CustomerRevenueRow[], month: Month): boolean {
  const [current] = churnByMonth(unitMonths(rows), [month]) as [MonthChurn];
  return current.atRisk > 0 && current.churned >= MIN_CHURNED;
}

async function run(ctx: DeepDiveContext): Promise<DeepDive> {
  const q = <T>(name: string, fn: () => Promise<T>): Promise<T> => timedQuery(ctx, ID, name, fn);
  const rows = await q('revenue timeline', () => queryChurnTimeline(ctx));
  const feedback = await q('cancellation feedback', () => queryCancellationReasons(ctx));
  let segments: SegmentFacts | null = null;
  if (needsDrivers(rows, ctx.month)) {
    const orgs = atRiskUnits(rows, ctx.month)
      .map((u) => u.organization)
      .filter((o): o is string => o !== null);
    segments = {
      properties: await q('organization properties', () => queryOrganizationProperties(ctx, orgs)),
      propertySets: await q('organization property history', () => queryPropertySets(ctx, orgs)),
      activity: await q('usage before churn', () => queryUsageBeforeChurn(ctx, orgs)),
      tickets: await q('tickets before churn', () => queryTicketsBeforeChurn(ctx, orgs)),
      nps: await q('nps', () => queryNpsBeforeChurn(ctx, orgs)),
    };
  }
  return formatChurnReasons(ctx, { rows, feedback, segments });
}

/** Pure: the dive from what the queries found (no SQL). */
export function formatChurnReasons(
  ctx: Pick<DeepDiveContext, 'config' | 'month'>,
  found: ChurnFacts,
): DeepDive {
  const { month } = ctx;
  const currency = ctx.config.reporting.currency;
  const method = churnReasonsMethod(month);
  const { rows, feedback } = found;
  const perUnit = unitMonths(rows);
  const [current] = churnByMonth(perUnit, [month]) as [MonthChurn];
  const trailingMonths = churnByMonth(perUnit, monthsEndingAt(addMonths(month, -1), TRAILING_MONTHS));
  const trailing = trailingMonths.reduce(
    (s, m) => ({
      atRisk: s.atRisk + m.atRisk,
      churned: s.churned + m.churned,
      churnedMrr: s.churnedMrr + m.churnedMrr,
    }),
    { atRisk: 0, churned: 0, churnedMrr: 0 },
  );
  const monthsWithCustomers = trailingMonths.filter((m) => m.atRisk > 0);
  const trailingMrrMean =
    monthsWithCustomers.length === 0 ? null : trailing.churnedMrr / monthsWithCustomers.length;

  const reasonsFrom = reasonsFromOf(month);
  const reasons: Theme[] = groupIntoThemes(feedback.map((f) => ({ text: f.body ?? f.title, tags: f.tags })));

  if (current.atRisk === 0) {
    return {
      id: ID,
      question: QUESTION,
      summary: `Not enough data: no paying customers at the start of ${month} (no billing data, or none for this product).`,
      method,
      findings: [],
      data: { month, atRisk: 0, churned: [], drivers: [], reasons, cancellationFeedback: feedback.length },
    };
  }

  const rate = current.churned / current.atRisk;
  const wilson = wilsonInterval(current.churned, current.atRisk);
  const interval95 = wilson.notEnoughData ? null : [wilson.interval.low, wilson.interval.high];
  const comparison =
    trailing.atRisk === 0
      ? null
      : compareProportions({
          successesA: current.churned,
          totalA: current.atRisk,
          successesB: trailing.churned,
          totalB: trailing.atRisk,
        });
  const compared = comparison && !comparison.notEnoughData ? comparison : null;
  const trailingRate = trailing.atRisk === 0 ? null : trailing.churned / trailing.atRisk;
  const high =
    compared !== null && trailingRate !== null && rate > trailingRate && compared.pValue < SIGNIFICANCE;

  const units = atRiskUnits(rows, month);
  const churned: ChurnedCustomer[] = units
    .filter((u) => u.endMrr <= 0)
    .map((u) => ({ organization: u.organization, name: u.name, customerIds: u.customerIds, mrr: u.startMrr }))
    .sort((a, b) => b.mrr - a.mrr || compareNullableText(a.organization, b.organization));

  const enoughForDrivers = current.churned >= MIN_CHURNED;
  const drivers =
    enoughForDrivers && found.segments
      ? testSegments(units, segmentLabels(month, units, found.segments))
      : [];
  const significant = drivers.filter((d) => d.significant);

  const rateText = `${current.churned} of ${current.atRisk} paying customers churned in ${month} (${pct(rate)}${
    interval95 ? `, 95% CI ${pct(interval95[0] as number)}–${pct(interval95[1] as number)}` : ''
  })`;
  const vsText =
    trailingRate === null || compared === null
      ? `no trailing months to compare with`
      : `against ${pct(trailingRate)} over the ${TRAILING_MONTHS} months before (${trailing.churned} of ${trailing.atRisk}; ${compared.test}, p ${formatP(compared.pValue)})`;

  // Only a high month is a finding (the summary says when it was not): a "not high" finding
  // would carry no claim worth ranking among the highlights.
  const findings: Finding[] = [];
  if (high && compared && trailingRate !== null) {
    findings.push({
      title: `Churn was high in ${month}: ${pct(rate)} vs ${pct(trailingRate)} in the trailing months`,
      detail: `${rateText}, ${vsText}; ${formatMoney(current.churnedMrr, currency)} of MRR lost${
        trailingMrrMean === null ? '' : ` vs ${formatMoney(trailingMrrMean, currency)} a month before`
      }.`,
      evidence: {
        test: compared.test,
        pValue: compared.pValue,
        lift: trailingRate > 0 ? rate / trailingRate : null,
        month: { atRisk: current.atRisk, churned: current.churned, rate, interval95 },
        trailing: { months: TRAILING_MONTHS, ...trailing, rate: trailingRate },
        mrrAtStake: current.churnedMrr,
        metricIds: ['customer_churn_rate', 'churned_customers', 'churned_mrr'],
      },
    });
  }
  findings.push(...significant.slice(0, MAX_DRIVER_FINDINGS).map((d) => driverFinding(d, currency)));
  const topReason = reasons[0];
  if (topReason && topReason.source !== 'other' && topReason.count >= 2) {
    findings.push({
      title: `Most common cancellation reason: ${topReason.theme} (${topReason.count} of ${feedback.length})`,
      detail: `Cancellation feedback from ${reasonsFrom.toISOString().slice(0, 10)} to the end of ${month}, grouped into themes; e.g. “${topReason.example ?? ''}”.`,
      evidence: { method: 'themes', themes: reasons.slice(0, 5), responses: feedback.length },
    });
  }

  const driverText = !enoughForDrivers
    ? `Not enough data to look for drivers: ${current.churned} churned, need at least ${MIN_CHURNED}.`
    : significant[0]
      ? `Strongest driver: ${significant[0].dimension} = ${significant[0].value} (${pct(significant[0].churnRate)} vs ${pct(significant[0].baselineRate)} for the rest).`
      : `No segment churned significantly more than the rest (${drivers.length} candidate segments, Benjamini–Hochberg q < ${SIGNIFICANCE}).`;
  const reasonText =
    topReason && topReason.source !== 'other'
      ? ` Top cancellation reason: ${topReason.theme} (${topReason.count}).`
      : '';
  const verdict = high
    ? 'Churn was high'
    : compared === null
      ? 'Cannot tell whether churn was high'
      : 'Churn was not unusually high';
  const summary = `${verdict}: ${rateText}, ${vsText}. ${driverText}${reasonText}`;

  return {
    id: ID,
    question: QUESTION,
    summary,
    method,
    findings,
    data: {
      month,
      high,
      atRisk: current.atRisk,
      churnedCount: current.churned,
      churnRate: rate,
      interval95,
      churnedMrr: current.churnedMrr,
      trailing: {
        months: trailingMonths,
        atRisk: trailing.atRisk,
        churned: trailing.churned,
        rate: trailingRate,
        churnedMrrPerMonth: trailingMrrMean,
      },
      test: compared?.test ?? null,
      pValue: compared?.pValue ?? null,
      churned,
      drivers,
      driversNotEnoughData: !enoughForDrivers,
      minChurnedForDrivers: MIN_CHURNED,
      reasons,
      cancellationFeedback: feedback.length,
    },
  };
}

export const churnReasons: DeepDiveRunner = { id: ID, question: QUESTION, run };

/**
 * Deep dive `top-customers`: are our biggest customers happy users? (docs/analyses.md#top-customers)
 *
 * Who: the `topCustomers` organizations with the largest MRR at the end of the review month
 * (revenue/customer-mrr.ts, the organization's billing customers summed). Billing customers linked
 * to no organization are left out: their usage and feedback cannot be joined.
 *
 * Signals per organization ("last 3 months" = the review month and the two before; "the 3 before"
 * = the three months before those), each with a verdict good / neutral / bad:
 * - mrr: month-end MRR now vs three months before: lower (contraction) bad, higher good.
 * - usage: active people per month (distinct people with an activity event of the product),
 *   averaged over the last 3 months vs the 3 before: a fall of USAGE_BAD (30%) or more bad, a fall
 *   of less than USAGE_GOOD (10%) or a rise good. Not judged when the 3 before had none. (A
 *   monthly average, not distinct people over 3 months: people who drop from weekly to one visit
 *   still count in a 3-month distinct count.)
 * - keyActions: key-action events (config.keyActions; all activity events if none), last 3 months
 *   vs the 3 before, same thresholds; judged only with MIN_KEY_ACTIONS or more in the 3 before
 *   (a handful of events swings by chance).
 * - seats: people active in the last 3 months ÷ seats paid (the quantity of its recurring licensed
 *   billing lines at month end), judged only when 2 or more seats are paid: below SEATS_BAD (20%)
 *   bad (shelfware), SEATS_GOOD (80%) or more good.
 * - nps: answers of its people in the last 3 months (nps feedback rows and survey events): NPS
 *   below 0 bad, 30 or more good.
 * - tickets: tickets opened in the last 3 months vs the 3 before: bad when at least TICKETS_BAD
 *   (3) and at least twice what the company-wide trend predicts (the 3 before × the whole
 *   company's tickets last 3 months ÷ the 3 before, when that ratio is above 1), so a
 *   company-wide incident does not mark every customer; otherwise neutral (support contact is not
 *   unhappiness by itself).
 * - cancellation: a subscription set to cancel at the month's end (cancel_at_period_end, or
 *   canceled but not yet ended), or cancellation feedback in the last 3 months: bad.
 *
 * Health, from the verdicts (usage and keyActions count once together, as the worse of the two
 * judged, since both measure the same activity):
 *   unhappy — a cancellation signal, or two or more bad signals;
 *   at-risk — exactly one bad signal;
 *   happy   — no bad signal and at least two good ones;
 *   neutral — otherwise.
 * Not enough data: no billing customer linked to an organization.
 */
import { addMonths, monthEnd, monthStart, monthsEndingAt, type Month } from '../../domain/month.js';
import { formatMoney } from '../../domain/money-format.js';
import type { DeepDive, Finding } from '../../domain/review.js';
import { dataRanges } from '../../metrics/data-range.js';
import {
  customerRevenueTimeline,
  sqlCustomerOrganizations,
  type CustomerRevenueRow,
} from '../../metrics/revenue/customer-mrr.js';
import { sqlFeedbackInProduct } from '../../metrics/feedback/product.js';
import { join, raw, sql, type Sql } from '../../store/sql.js';
import { median } from '../stats/descriptive.js';
import { normalCdf } from '../stats/jstat.js';
import { benjaminiHochberg } from '../stats/multiple-comparisons.js';
import { npsWithInterval } from '../stats/nps.js';
import { binomialLowerTail, binomialUpperTail } from '../stats/predictive.js';
import {
  activityByOrganization,
  cancellationFeedback,
  npsByOrganization,
  relativeChange,
  ticketsByOrganization,
  type CancellationFeedback,
  type MonthWindow,
} from './organization-facts.js';
import { timedQuery } from './timed.js';
import type { DeepDiveContext, DeepDiveRunner } from './types.js';
import { compareText } from '../../domain/order.js';

export const USAGE_BAD = -0.3;
export const USAGE_GOOD = -0.1;
export const SEATS_BAD = 0.2;
export const MIN_KEY_ACTIONS = 20;
export const SEATS_GOOD = 0.8;
export const NPS_BAD = 0;
export const NPS_GOOD = 30;
export const TICKETS_BAD = 3;
/** MRR down this much over 3 months is a bad signal (a seat less on a big account is not). */
export const MRR_BAD = -0.1;
/** NPS answers needed before a customer's NPS is judged. */
export const MIN_NPS_ANSWERS = 5;
/** A fall must be this much worse than the peers' median change to count against a customer. */
export const PEER_MARGIN = 0.2;
export const SIGNIFICANCE = 0.05;

const ID = 'top-customers';
const QUESTION = 'Are our biggest customers happy users?';

export type Health = 'happy' | 'neutral' | 'at-risk' | 'unhappy';
export type Verdict = 'good' | 'neutral' | 'bad';

export interface Signal {
  signal: 'mrr' | 'usage' | 'keyActions' | 'seats' | 'nps' | 'tickets' | 'cancellation';
  /** The measured value: a relative change, a ratio, an NPS, a count; null when not measurable. */
  value: number | null;
  verdict: Verdict;
  detail: string;
  /** false when the data is too thin for a verdict (then neutral, and left out of health). */
  judged?: boolean;
  /** What the value is compared with: its own 3 months before, the company's NPS, seats paid. */
  baseline?: number | null;
  /** The test behind a bad verdict (`billing-fact` for facts read from billing). */
  test?: string | null;
  /** One-sided p-value in the direction of concern; qValue after Benjamini–Hochberg across all
   * tested signals of the top customers. */
  pValue?: number | null;
  qValue?: number | null;
  /** 95% interval of the value (NPS). */
  interval?: [number, number] | null;
  /** The sample behind the test: people-months, events, answers, tickets. */
  n?: number | null;
  /** The other top customers' median change (usage, key actions). */
  peers?: { medianChange: number | null; n: number };
}

/** The signals' names in words, for titles a person reads (not their ids). */
const SIGNAL_NAMES: Record<Signal['signal'], string> = {
  mrr: 'MRR',
  usage: 'usage',
  keyActions: 'key actions',
  seats: 'seats',
  nps: 'NPS',
  tickets: 'support tickets',
  cancellation: 'cancellation',
};

export interface TopCustomer {
  organization: string;
  name: string;
  /** Month-end MRR, major units of reporting.currency. */
  mrr: number;
  /** Month-end MRR of the review month and the three before, oldest first. */
  mrrTrend: { month: Month; mrr: number }[];
  health: Health;
  signals: Signal[];
  /** Active people per month, averaged over the last 3 months and the 3 before; distinct people in the last 3. */
  activeUsers: { last3: number; previous3: number; change: number | null; distinctLast3: number };
  keyActions: { last3: number; previous3: number; change: number | null };
  /** used: distinct people active in the last 3 months. */
  seats: { used: number; paid: number | null };
  nps: { responses: number; nps: number | null; meanScore: number | null };
  tickets: { last3: number; previous3: number };
}

const pct = (x: number): string => `${x > 0 ? '+' : ''}${(100 * x).toFixed(0)}%`;

function trendSignal(
  signal: 'usage' | 'keyActions',
  label: string,
  before: number,
  after: number,
  minBefore = 0,
): Signal {
  const change = relativeChange(before, after);
  const n = (x: number): string => String(Math.round(x * 10) / 10);
  const detail = `${label} ${n(before)} → ${n(after)} (3 months vs 3 before${change === null ? '' : `, ${pct(change)}`})`;
  if (change === null) return { signal, value: null, verdict: 'neutral', detail: `${detail}; none before` };
  if (before < minBefore) {
    return {
      signal,
      value: change,
      verdict: 'neutral',
      judged: false,
      detail: `${detail}; too few to judge (< ${minBefore})`,
    };
  }
  const verdict: Verdict = change <= USAGE_BAD ? 'bad' : change >= USAGE_GOOD ? 'good' : 'neutral';
  return { signal, value: change, verdict, detail };
}

/** Health from the verdicts (see the file comment). */
export function healthOf(signals: readonly Signal[]): Health {
  const by = (s: Signal['signal']): Signal | undefined => signals.find((x) => x.signal === s);
  const rank: Record<Verdict, number> = { bad: 0, neutral: 1, good: 2 };
  const activity = [by('usage'), by('keyActions')]
    .filter((s): s is Signal => s !== undefined && s.judged !== false)
    .sort((a, b) => rank[a.verdict] - rank[b.verdict])[0];
  const counted = [
    ...signals.filter((s) => s.signal !== 'usage' && s.signal !== 'keyActions'),
    ...(activity ? [activity] : []),
  ];
  const bad = counted.filter((s) => s.verdict === 'bad');
  const good = counted.filter((s) => s.verdict === 'good');
  if (bad.some((s) => s.signal === 'cancellation') || bad.length >= 2) return 'unhappy';
  if (bad.length === 1) return 'at-risk';
  return good.length >= 2 ? 'happy' : 'neutral';
}

/** Query: seats paid at the month's end per organization: quantities of recurring licensed lines / CSV rows. */
export async function querySeatsPaid(
  ctx: DeepDiveContext,
  organizations: string[],
): Promise<Map<string, number>> {
  const d = ctx.engine.dialect;
  const end = d.sqlTimestamp(sql`${monthEnd(ctx.month).toISOString()}`);
  const productFilter = (column: Sql): Sql =>
    ctx.product.name === 'all'
      ? raw('TRUE')
      : ctx.product.stripeProducts.length === 0
        ? raw('FALSE')
        : sql`${column} IN (${join(ctx.product.stripeProducts.map((p) => sql`${p}`))})`;
  const rows = await ctx.engine.query<{ organization: string; seats: number }>(sql`
    WITH orgs AS (${sqlCustomerOrganizations(d, ctx.config)}),
    lines AS (
      SELECT o.organization, l.quantity
      FROM billing_invoice_lines l
      LEFT JOIN billing_invoices i ON i.id = l.invoice_id
      LEFT JOIN billing_prices p ON p.id = l.price_id
      JOIN orgs o ON o.customer_id = coalesce(l.customer_id, i.customer_id)
      WHERE NOT l.proration AND coalesce(l.interval, p.interval) IS NOT NULL
        AND coalesce(l.usage_type, p.usage_type, 'licensed') <> 'metered'
        AND coalesce(i.status, l.invoice_status) IN ('open', 'paid')
        AND l.period_start < ${end} AND l.period_end >= ${end} AND l.quantity IS NOT NULL
        AND ${productFilter(raw('coalesce(l.product, p.product)'))}
      UNION ALL
      SELECT organization, quantity FROM billing_subscription_rows
      WHERE start_at < ${end} AND (end_at IS NULL OR end_at >= ${end}) AND ${productFilter(raw('product'))}
    )
    SELECT organization, sum(quantity) AS seats FROM lines
    WHERE organization IN (${join(organizations.map((o) => sql`${o}`))})
    GROUP BY organization`);
  return new Map(rows.map((r) => [r.organization, Number(r.seats)]));
}

/** Query: organizations with a subscription set to cancel at the review month's end. */
export async function queryScheduledCancellations(
  ctx: DeepDiveContext,
  organizations: string[],
): Promise<Set<string>> {
  const d = ctx.engine.dialect;
  const end = d.sqlTimestamp(sql`${monthEnd(ctx.month).toISOString()}`);
  const rows = await ctx.engine.query<{ organization: string }>(sql`
    WITH orgs AS (${sqlCustomerOrganizations(d, ctx.config)}),
    latest AS (
      SELECT subscription_id, customer_id, cancel_at_period_end, status,
        row_number() OVER (PARTITION BY subscription_id, item_id ORDER BY valid_from DESC, state_id DESC) AS rn
      FROM billing_subscription_states WHERE valid_from < ${end}
    ),
    flagged AS (
      SELECT customer_id FROM latest
      WHERE rn = 1 AND cancel_at_period_end AND coalesce(status, '') NOT IN ('canceled', 'incomplete_expired')
      UNION ALL
      SELECT customer_id FROM billing_subscriptions
      WHERE canceled_at < ${end} AND (ended_at IS NULL OR ended_at >= ${end})
    )
    SELECT DISTINCT o.organization FROM flagged f JOIN orgs o ON o.customer_id = f.customer_id
    WHERE o.organization IN (${join(organizations.map((o) => sql`${o}`))})`);
  return new Set(rows.map((r) => r.organization));
}

/** Query: tickets opened in each window, whole company (product-scoped), for the company-wide trend. */
export async function queryCompanyTickets(
  ctx: DeepDiveContext,
  windows: [MonthWindow, MonthWindow],
): Promise<[number, number]> {
  const d = ctx.engine.dialect;
  const ts = (m: Date): Sql => d.sqlTimestamp(sql`${m.toISOString()}`);
  const count = (w: MonthWindow): Sql =>
    sql`sum(CASE WHEN created_at >= ${ts(monthStart(w.from))} AND created_at < ${ts(monthEnd(w.to))} THEN 1 ELSE 0 END)`;
  const [row] = await ctx.engine.query<{ a: number | null; b: number | null }>(sql`
    SELECT ${count(windows[0])} AS a, ${count(windows[1])} AS b FROM feedback
    WHERE kind = 'ticket' AND ${sqlFeedbackInProduct({ ...ctx, months: [ctx.month] }, raw('tags'))}`);
  return [Number(row?.a ?? 0), Number(row?.b ?? 0)];
}

/** The company's NPS answers over the window, from the review's `nps` metric; null with fewer than 30. */
function pooledNps(
  ctx: Pick<DeepDiveContext, 'metrics'>,
  window: MonthWindow,
): { nps: number; n: number; promoters: number; detractors: number } | null {
  const metric = ctx.metrics.find((m) => m.id === 'nps');
  if (!metric?.detail) return null;
  let promoters = 0;
  let passives = 0;
  let detractors = 0;
  for (let m = window.from; m <= window.to; m = addMonths(m, 1)) {
    const d = metric.detail[m];
    promoters += typeof d?.promoters === 'number' ? d.promoters : 0;
    passives += typeof d?.passives === 'number' ? d.passives : 0;
    detractors += typeof d?.detractors === 'number' ? d.detractors : 0;
  }
  const n = promoters + passives + detractors;
  if (n < 30) return null;
  return { nps: (100 * (promoters - detractors)) / n, n, promoters, detractors };
}

function notEnough(summary: string, method: string): DeepDive {
  return { id: ID, question: QUESTION, summary, method, findings: [], data: { customers: [] } };
}

/**
 * Whether the data ends inside the review month, before its last day (metrics/data-range.ts; the
 * review's dataCoverage calls such a month unfinished or partial).
 */
const DAY_MS = 86_400_000;

export async function queryPartialMonth(ctx: DeepDiveContext): Promise<boolean> {
  const end = ctx.asOf !== undefined ? ctx.asOf : (await dataRanges(ctx.engine)).last;
  if (end === null) return false;
  const lastDay = new Date(monthEnd(ctx.month).getTime() - DAY_MS);
  return end >= monthStart(ctx.month) && end < lastDay;
}

/** The method, in words (pure). */
export function topCustomersMethod(config: DeepDiveContext['config'], month: Month): string {
  const n = config.topCustomers;
  const method =
    `The ${n} organizations with the largest MRR at the end of ${month}. Each signal compares the customer with its own ` +
    `last 3 months vs the 3 before and, for usage, with its peers (the other top customers' median change). ` +
    `Usage and key actions: a fall of ${-100 * USAGE_BAD}%+ that is significant (exact conditional binomial test of two ` +
    `Poisson rates, one-sided) and ${100 * PEER_MARGIN} points worse than the peers' median is bad; a fall of less than ` +
    `${-100 * USAGE_GOOD}% is good. NPS (${MIN_NPS_ANSWERS}+ answers): below ${NPS_BAD} and significantly below the company's ` +
    `NPS (two-sample z-test, multinomial variance) is bad, ${NPS_GOOD}+ good. Tickets: ${TICKETS_BAD}+ and significantly more ` +
    `than the 3 before × the company-wide trend (conditional binomial, one-sided) is bad. Benjamini–Hochberg across every ` +
    `tested signal of these customers, q < ${SIGNIFICANCE}. MRR down ${-100 * MRR_BAD}%+, seats used below ${100 * SEATS_BAD}% ` +
    `of paid, and a scheduled cancel or cancellation feedback are billing facts. A signal with the same value for every ` +
    `customer is dropped. Health: unhappy with a cancellation or 2+ bad signals, at-risk with 1, happy with none and 2+ ` +
    `good, else neutral (usage and key actions count once).`;

  return method;
}

/** Query: the organizations' names (the `name` property of their group). */
export async function queryOrganizationNames(
  ctx: DeepDiveContext,
  orgs: readonly string[],
): Promise<{ group_key: string; name: string | null }[]> {
  return ctx.engine.query<{ group_key: string; name: string | null }>(sql`
    SELECT group_key, ${ctx.engine.dialect.sqlJsonString(raw('properties'), ['name'])} AS name FROM groups
    WHERE group_type = 'organization' AND group_key IN (${join(orgs.map((o) => sql`${o}`))})`);
}

/** What the queries found about the top customers, for the pure format. */
export interface TopCustomerFacts {
  timeline: CustomerRevenueRow[];
  mrrBy: Map<string, Map<Month, number>>;
  names: Map<string, string>;
  top: { organization: string; mrr: number }[];
  answered: MonthWindow;
  /** The month the activity and ticket windows end at (the month before when the review month is partial). */
  judged: Month;
  previous3: MonthWindow;
  last3: MonthWindow;
  activity: Awaited<ReturnType<typeof activityByOrganization>>;
  tickets: Awaited<ReturnType<typeof ticketsByOrganization>>;
  companyTickets: [number, number];
  nps: Awaited<ReturnType<typeof npsByOrganization>>;
  seats: Map<string, number>;
  scheduled: Set<string>;
  groupNames: { group_key: string; name: string | null }[];
  cancelFeedback: CancellationFeedback[];
}

async function run(ctx: DeepDiveContext): Promise<DeepDive> {
  const { month, config } = ctx;
  const n = config.topCustomers;
  const method = topCustomersMethod(config, month);
  const q = <T>(name: string, fn: () => Promise<T>): Promise<T> => timedQuery(ctx, ID, name, fn);

  const timeline = await q('revenue timeline', () =>
    customerRevenueTimeline({
      engine: ctx.engine,
      asOf: ctx.asOf,
      config,
      product: ctx.product,
      months: monthsEndingAt(month, 6),
    }),
  );
  const linked = timeline.filter((r) => r.organization !== null);
  if (linked.length === 0) {
    return notEnough(
      `Not enough data: no billing customer is linked to an organization${timeline.length ? '' : ' (no billing data for this product)'}, ` +
        `so MRR cannot be joined with usage (link customers with billing.link, e.g. metadata.group_key).`,
      method,
    );
  }
  const mrrBy = new Map<string, Map<Month, number>>();
  const names = new Map<string, string>();
  for (const r of linked) {
    const org = r.organization as string;
    const m = mrrBy.get(org) ?? new Map<Month, number>();
    m.set(r.month, (m.get(r.month) ?? 0) + r.mrr);
    mrrBy.set(org, m);
    if (r.name && !names.has(org)) names.set(org, r.name);
  }
  const top = [...mrrBy]
    .map(([organization, m]) => ({ organization, mrr: m.get(month) ?? 0 }))
    .filter((x) => x.mrr > 0)
    .sort((a, b) => b.mrr - a.mrr || compareText(a.organization, b.organization))
    .slice(0, n);
  if (top.length === 0)
    return notEnough(`Not enough data: no organization was paying at the end of ${month}.`, method);
  const orgs = top.map((t) => t.organization);

  // A review month the data covers only in part (its end falls before the month's last day: an
  // unfinished month, or an export made mid-month) holds a few days of activity and tickets against
  // whole months, which reads as every customer's usage collapsing. Those counts are then compared
  // over the last 3 COMPLETE months vs the 3 before; NPS answers and cancellations (not sums over
  // days) still include it.
  const judged = (await q('partial month', () => queryPartialMonth(ctx))) ? addMonths(month, -1) : month;
  const previous3: MonthWindow = { from: addMonths(judged, -5), to: addMonths(judged, -3) };
  const last3: MonthWindow = { from: addMonths(judged, -2), to: judged };
  // Six single months (for monthly active people), then the two 3-month windows.
  const single = monthsEndingAt(judged, 6).map((m) => ({ from: m, to: m }));
  const activity = await q('activity', () =>
    activityByOrganization(ctx, orgs, [...single, previous3, last3]),
  );
  const tickets = await q('tickets', () => ticketsByOrganization(ctx, orgs, [previous3, last3]));
  const companyTickets = await q('company tickets', () => queryCompanyTickets(ctx, [previous3, last3]));
  const answered: MonthWindow = { from: addMonths(month, -2), to: month };
  const nps = await q('nps', () => npsByOrganization(ctx, orgs, answered));
  const seats = await q('seats paid', () => querySeatsPaid(ctx, orgs));
  const scheduled = await q('scheduled cancellations', () => queryScheduledCancellations(ctx, orgs));
  const groupNames = await q('organization names', () => queryOrganizationNames(ctx, orgs));
  const cancelFeedback = await q('cancellation feedback', () =>
    cancellationFeedback(ctx, monthStart(answered.from), monthEnd(month), orgs),
  );

  return formatTopCustomers(ctx, {
    timeline,
    mrrBy,
    names,
    top,
    answered,
    judged,
    previous3,
    last3,
    activity,
    tickets,
    companyTickets,
    nps,
    seats,
    scheduled,
    groupNames,
    cancelFeedback,
  });
}

/** Pure: the dive from what the queries found (no SQL). */
export function formatTopCustomers(
  ctx: Pick<DeepDiveContext, 'config' | 'month' | 'metrics'>,
  found: TopCustomerFacts,
): DeepDive {
  const { month, config } = ctx;
  const currency = config.reporting.currency;
  const method = topCustomersMethod(config, month);
  const trendMonths = monthsEndingAt(month, 4);
  const { timeline, mrrBy, names, top, answered, activity, tickets, companyTickets, nps, seats, scheduled } =
    found;
  const { groupNames, cancelFeedback, judged, previous3, last3 } = found;
  // Company NPS over the last 3 months, from the review's NPS metric, as every customer's baseline.
  const companyNps = pooledNps(ctx, answered);

  const facts = top.map(({ organization, mrr }) => {
    const a = activity.get(organization);
    const monthly = a?.users.slice(0, 6) ?? [0, 0, 0, 0, 0, 0];
    const [ticketsBefore = 0, ticketsLast = 0] = tickets.get(organization) ?? [];
    const mrrTrend = trendMonths.map((m) => ({ month: m, mrr: mrrBy.get(organization)?.get(m) ?? 0 }));
    return {
      organization,
      mrr,
      mrrTrend,
      usersBeforeTotal: monthly[0]! + monthly[1]! + monthly[2]!,
      usersLastTotal: monthly[3]! + monthly[4]! + monthly[5]!,
      distinctLast3: a?.users[7] ?? 0,
      keyBefore: a?.keyActions[6] ?? 0,
      keyLast: a?.keyActions[7] ?? 0,
      ticketsBefore,
      ticketsLast,
      answers: nps.get(organization),
      paid: seats.get(organization) ?? null,
    };
  });
  // Peers: the other top customers' changes, so a company-wide dip is not blamed on each one.
  const peerMedian = (values: (number | null)[], self: number): { median: number | null; n: number } => {
    const others = values.filter((v, i): v is number => i !== self && v !== null);
    return { median: median(others), n: others.length };
  };
  const usageChanges = facts.map((f) => relativeChange(f.usersBeforeTotal, f.usersLastTotal));
  const keyChanges = facts.map((f) => relativeChange(f.keyBefore, f.keyLast));

  // Every tested signal of every customer is one family for Benjamini–Hochberg.
  const tests: { customer: number; signal: Signal; flagIf: () => boolean }[] = [];
  const perCustomer: Signal[][] = facts.map((f, i) => {
    const signals: Signal[] = [];
    const mrrBefore = f.mrrTrend[0]?.mrr ?? 0;
    const mrrChange = relativeChange(mrrBefore, f.mrr);
    signals.push({
      signal: 'mrr',
      value: mrrChange,
      baseline: mrrBefore,
      test: 'billing-fact',
      pValue: null,
      n: null,
      verdict:
        mrrChange === null || mrrChange === 0
          ? 'neutral'
          : mrrChange <= MRR_BAD
            ? 'bad'
            : mrrChange > 0
              ? 'good'
              : 'neutral',
      detail:
        mrrChange === null
          ? `MRR ${formatMoney(f.mrr, currency)}, not paying 3 months before`
          : `MRR ${formatMoney(mrrBefore, currency)} → ${formatMoney(f.mrr, currency)} over 3 months (${pct(mrrChange)})${mrrChange <= MRR_BAD ? ': contraction' : ''}`,
    });
    const trend = (
      kind: 'usage' | 'keyActions',
      label: string,
      before: number,
      after: number,
      changes: (number | null)[],
      minBefore: number,
    ): void => {
      const s = trendSignal(kind, label, before / 3, after / 3, minBefore);
      const peers = peerMedian(changes, i);
      const withEvidence: Signal = {
        ...s,
        baseline: before / 3,
        n: before + after,
        peers: { medianChange: peers.median, n: peers.n },
        test: null,
        pValue: null,
      };
      signals.push(withEvidence);
      if (s.value === null || s.judged === false) return;
      // Own baseline: given the total, a steady rate splits Binomial(total, ½) between the two
      // windows (the exact conditional test of two Poisson rates); one-sided, for a fall.
      withEvidence.test = 'poisson-conditional-binomial';
      withEvidence.pValue = binomialLowerTail(after, before + after, 0.5);
      if (s.verdict === 'bad') {
        const worseThanPeers = peers.median === null || s.value <= peers.median - PEER_MARGIN;
        tests.push({
          customer: i,
          signal: withEvidence,
          flagIf: () => worseThanPeers,
        });
        withEvidence.verdict = 'neutral';
      }
    };
    trend('usage', 'monthly active users', f.usersBeforeTotal, f.usersLastTotal, usageChanges, 0);
    trend(
      'keyActions',
      config.keyActions.length ? 'key actions' : 'activity events',
      f.keyBefore,
      f.keyLast,
      keyChanges,
      MIN_KEY_ACTIONS,
    );
    if (f.paid !== null && f.paid >= 2) {
      const use = f.distinctLast3 / f.paid;
      signals.push({
        signal: 'seats',
        value: use,
        baseline: f.paid,
        test: 'billing-fact',
        pValue: null,
        n: f.paid,
        verdict: use < SEATS_BAD ? 'bad' : use >= SEATS_GOOD ? 'good' : 'neutral',
        detail: `${f.distinctLast3} of ${f.paid} paid seats active in the last 3 months (${(100 * use).toFixed(0)}%)`,
      });
    }
    const answers = f.answers;
    const npsValue = answers ? (100 * (answers.promoters - answers.detractors)) / answers.responses : null;
    const interval = answers ? npsWithInterval(answers, { minResponses: MIN_NPS_ANSWERS }) : null;
    const npsSignal: Signal = {
      signal: 'nps',
      value: npsValue,
      baseline: companyNps?.nps ?? null,
      test: null,
      pValue: null,
      n: answers?.responses ?? 0,
      interval: interval && !interval.notEnoughData ? [interval.interval.low, interval.interval.high] : null,
      verdict: 'neutral',
      detail: answers
        ? `NPS ${npsValue?.toFixed(0)} from ${answers.responses} answer${answers.responses === 1 ? '' : 's'} in 3 months (mean score ${answers.meanScore.toFixed(1)})`
        : 'no NPS answers in 3 months',
    };
    signals.push(npsSignal);
    if (answers && npsValue !== null && answers.responses >= MIN_NPS_ANSWERS) {
      if (npsValue >= NPS_GOOD) npsSignal.verdict = 'good';
      if (companyNps) {
        // Two-sample z-test against the company's answers, the variance pooled (multinomial).
        const n1 = answers.responses;
        const n2 = companyNps.n;
        const pPlus = (answers.promoters + companyNps.promoters) / (n1 + n2);
        const pMinus = (answers.detractors + companyNps.detractors) / (n1 + n2);
        const v = Math.max(0, pPlus + pMinus - (pPlus - pMinus) ** 2);
        const se = 100 * Math.sqrt(v * (1 / n1 + 1 / n2));
        npsSignal.test = 'nps-two-sample-z';
        npsSignal.pValue = se === 0 ? 1 : normalCdf((npsValue - companyNps.nps) / se);
        npsSignal.detail += ` vs the company's ${companyNps.nps.toFixed(0)}`;
        if (npsValue < NPS_BAD) tests.push({ customer: i, signal: npsSignal, flagIf: () => true });
      } else if (interval && !interval.notEnoughData) {
        npsSignal.test = interval.test;
        if (interval.interval.high < NPS_BAD) npsSignal.verdict = 'bad';
      }
    } else if (answers) {
      npsSignal.detail += `; fewer than ${MIN_NPS_ANSWERS}: not judged`;
      npsSignal.judged = false;
    }
    // The company-wide trend from the other organizations' tickets (its own rise is what we test).
    const othersTrend = Math.max(
      1,
      (companyTickets[1] - f.ticketsLast + 1) / (companyTickets[0] - f.ticketsBefore + 1),
    );
    const ticketShare = othersTrend / (1 + othersTrend);
    const ticketSignal: Signal = {
      signal: 'tickets',
      value: f.ticketsLast,
      baseline: f.ticketsBefore * othersTrend,
      test: 'poisson-conditional-binomial',
      // One-sided: more tickets than the company-wide trend predicts from its own 3 months before.
      pValue: binomialUpperTail(f.ticketsLast, f.ticketsBefore + f.ticketsLast, ticketShare),
      n: f.ticketsBefore + f.ticketsLast,
      verdict: 'neutral',
      detail:
        `tickets ${f.ticketsBefore} → ${f.ticketsLast} (3 months vs 3 before)` +
        (othersTrend > 1 ? `; company-wide × ${othersTrend.toFixed(1)}` : ''),
    };
    signals.push(ticketSignal);
    if (f.ticketsLast >= TICKETS_BAD) tests.push({ customer: i, signal: ticketSignal, flagIf: () => true });
    const feedbackRows = cancelFeedback.filter((x) => x.organization === f.organization);
    const cancelling = scheduled.has(f.organization) || feedbackRows.length > 0;
    signals.push({
      signal: 'cancellation',
      value: cancelling ? 1 : 0,
      baseline: null,
      test: 'billing-fact',
      pValue: null,
      n: null,
      verdict: cancelling ? 'bad' : 'neutral',
      detail:
        [
          scheduled.has(f.organization) ? `a subscription is set to cancel at the end of ${month}` : null,
          feedbackRows.length ? `${feedbackRows.length} cancellation feedback in 3 months` : null,
        ]
          .filter((x) => x !== null)
          .join('; ') || 'no cancellation signal',
    });
    return signals;
  });
  const q = benjaminiHochberg(tests.map((t) => t.signal.pValue ?? 1));
  tests.forEach((t, k) => {
    const qValue = q[k] as number;
    t.signal.qValue = qValue;
    if (qValue < SIGNIFICANCE && t.flagIf()) t.signal.verdict = 'bad';
    else t.signal.detail += `; not significant (q ${qValue.toPrecision(2)})`;
  });
  // A signal whose value is the same for every customer tells nothing about any one of them
  // (every customer pays for one seat, nobody answered NPS): dropped.
  const kinds = new Set(perCustomer.flat().map((x) => x.signal));
  for (const kind of kinds) {
    const values = perCustomer.map((ss) => ss.find((x) => x.signal === kind)?.value);
    if (perCustomer.length > 1 && values.every((v) => v !== undefined && v === values[0])) {
      for (const ss of perCustomer)
        ss.splice(
          ss.findIndex((x) => x.signal === kind),
          1,
        );
    }
  }

  const customers: TopCustomer[] = facts.map((f, i) => {
    const signals = perCustomer[i] as Signal[];
    const answers = f.answers;
    const npsValue = answers ? (100 * (answers.promoters - answers.detractors)) / answers.responses : null;
    const usersBefore = f.usersBeforeTotal / 3;
    const usersLast = f.usersLastTotal / 3;
    return {
      organization: f.organization,
      name:
        groupNames.find((g) => g.group_key === f.organization)?.name ??
        names.get(f.organization) ??
        f.organization,
      mrr: f.mrr,
      mrrTrend: f.mrrTrend,
      health: healthOf(signals),
      signals,
      activeUsers: {
        last3: usersLast,
        previous3: usersBefore,
        change: relativeChange(usersBefore, usersLast),
        distinctLast3: f.distinctLast3,
      },
      keyActions: {
        last3: f.keyLast,
        previous3: f.keyBefore,
        change: relativeChange(f.keyBefore, f.keyLast),
      },
      seats: { used: f.distinctLast3, paid: f.paid },
      nps: { responses: answers?.responses ?? 0, nps: npsValue, meanScore: answers?.meanScore ?? null },
      tickets: { last3: f.ticketsLast, previous3: f.ticketsBefore },
    };
  });

  // All month-end MRR, unlinked customers included: the top customers' share of the business.
  const totalMrr = timeline.filter((r) => r.month === month).reduce((s, r) => s + r.mrr, 0);
  const topMrr = customers.reduce((s, c) => s + c.mrr, 0);
  const worried = customers.filter((c) => c.health === 'unhappy' || c.health === 'at-risk');
  const findings: Finding[] = worried.map((c) => {
    const bad = c.signals.filter((s) => s.verdict === 'bad');
    const qs = bad.map((s) => s.qValue).filter((x): x is number => typeof x === 'number');
    return {
      title: `${c.name} (${formatMoney(c.mrr, currency)} MRR) is ${c.health}: ${bad.map((s) => SIGNAL_NAMES[s.signal]).join(', ')}`,
      detail: `${bad.map((s) => s.detail).join('; ')}.`,
      evidence: {
        organization: c.organization,
        health: c.health,
        mrrAtStake: c.mrr,
        signals: c.signals,
        ...(qs.length ? { qValue: Math.min(...qs), correction: 'benjamini-hochberg' } : {}),
      },
    };
  });
  const count = (h: Health): number => customers.filter((c) => c.health === h).length;
  const share = totalMrr > 0 ? ` (${((100 * topMrr) / totalMrr).toFixed(0)}% of MRR)` : '';
  const summary =
    `Of the top ${customers.length} customers by MRR${share}: ${count('happy')} happy, ${count('neutral')} neutral, ` +
    `${count('at-risk')} at-risk, ${count('unhappy')} unhappy.` +
    (worried.length
      ? ` Needs attention: ${worried.map((c) => `${c.name} (${c.health})`).join(', ')}.`
      : ' None shows a bad signal.');

  return {
    id: ID,
    question: QUESTION,
    summary,
    method:
      judged === month
        ? method
        : `${method} The data ends inside ${month}: usage, key actions, seats used and tickets compare ` +
          `${last3.from}–${last3.to} with ${previous3.from}–${previous3.to}, the last complete months.`,
    findings,
    data: { customers, topMrr, totalMrr, windows: { last3, previous3 } },
  };
}

export const topCustomers: DeepDiveRunner = { id: ID, question: QUESTION, run };

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
import type { DeepDive, Finding } from '../../domain/review.js';
import { customerRevenueTimeline, sqlCustomerOrganizations } from '../../metrics/revenue/customer-mrr.js';
import { sqlFeedbackInProduct } from '../../metrics/feedback/product.js';
import { join, raw, sql, type Sql } from '../../store/sql.js';
import {
  activityByOrganization,
  cancellationFeedback,
  npsByOrganization,
  relativeChange,
  ticketsByOrganization,
  type MonthWindow,
} from './organization-facts.js';
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
}

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

/** Seats paid at the month's end per organization: quantities of recurring licensed lines / CSV rows. */
async function seatsPaid(ctx: DeepDiveContext, organizations: string[]): Promise<Map<string, number>> {
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

/** Organizations with a subscription set to cancel at the review month's end. */
async function scheduledCancellations(ctx: DeepDiveContext, organizations: string[]): Promise<Set<string>> {
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

/** Tickets opened in each window, whole company (product-scoped), for the company-wide trend. */
async function allTickets(
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

function notEnough(summary: string, method: string): DeepDive {
  return { id: ID, question: QUESTION, summary, method, findings: [], data: { customers: [] } };
}

async function run(ctx: DeepDiveContext): Promise<DeepDive> {
  const { month, config } = ctx;
  const currency = config.reporting.currency;
  const n = config.topCustomers;
  const method =
    `The ${n} organizations with the largest MRR at the end of ${month}. Signals over the last 3 months vs the 3 before: ` +
    `MRR trend, monthly active people and key actions (a fall of ${-100 * USAGE_BAD}%+ is bad, less than ${-100 * USAGE_GOOD}% good), ` +
    `seats used vs paid (below ${100 * SEATS_BAD}% bad), NPS of its people (below ${NPS_BAD} bad, ${NPS_GOOD}+ good), tickets ` +
    `(${TICKETS_BAD}+ and twice the company-wide trend: bad), cancellation (scheduled cancel or cancellation feedback: bad). Health: unhappy with a ` +
    `cancellation signal or 2+ bad signals, at-risk with 1, happy with none and 2+ good, else neutral (usage and key actions count once).`;

  const trendMonths = monthsEndingAt(month, 4);
  const timeline = await customerRevenueTimeline({
    engine: ctx.engine,
    config,
    product: ctx.product,
    months: monthsEndingAt(month, 6),
  });
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

  const previous3: MonthWindow = { from: addMonths(month, -5), to: addMonths(month, -3) };
  const last3: MonthWindow = { from: addMonths(month, -2), to: month };
  // Six single months (for monthly active people), then the two 3-month windows.
  const single = monthsEndingAt(month, 6).map((m) => ({ from: m, to: m }));
  const activity = await activityByOrganization(ctx, orgs, [...single, previous3, last3]);
  const tickets = await ticketsByOrganization(ctx, orgs, [previous3, last3]);
  const companyTickets = await allTickets(ctx, [previous3, last3]);
  const companyTrend = Math.max(1, (companyTickets[1] + 1) / (companyTickets[0] + 1));
  const nps = await npsByOrganization(ctx, orgs, last3);
  const seats = await seatsPaid(ctx, orgs);
  const scheduled = await scheduledCancellations(ctx, orgs);
  const groupNames = await ctx.engine.query<{ group_key: string; name: string | null }>(sql`
    SELECT group_key, ${ctx.engine.dialect.sqlJsonString(raw('properties'), ['name'])} AS name FROM groups
    WHERE group_type = 'organization' AND group_key IN (${join(orgs.map((o) => sql`${o}`))})`);
  const cancelFeedback = await cancellationFeedback(ctx, monthStart(last3.from), monthEnd(month), orgs);

  const customers: TopCustomer[] = top.map(({ organization, mrr }) => {
    const a = activity.get(organization);
    const monthly = a?.users.slice(0, 6) ?? [0, 0, 0, 0, 0, 0];
    const usersBefore = (monthly[0]! + monthly[1]! + monthly[2]!) / 3;
    const usersLast = (monthly[3]! + monthly[4]! + monthly[5]!) / 3;
    const distinctLast3 = a?.users[7] ?? 0;
    const keyBefore = a?.keyActions[6] ?? 0;
    const keyLast = a?.keyActions[7] ?? 0;
    const [ticketsBefore = 0, ticketsLast = 0] = tickets.get(organization) ?? [];
    const answers = nps.get(organization);
    const paid = seats.get(organization) ?? null;
    const mrrTrend = trendMonths.map((m) => ({ month: m, mrr: mrrBy.get(organization)?.get(m) ?? 0 }));
    const mrrBefore = mrrTrend[0]?.mrr ?? 0;
    const signals: Signal[] = [];

    const mrrChange = relativeChange(mrrBefore, mrr);
    signals.push({
      signal: 'mrr',
      value: mrrChange,
      verdict: mrrChange === null || mrrChange === 0 ? 'neutral' : mrrChange < 0 ? 'bad' : 'good',
      detail:
        mrrChange === null
          ? `MRR ${mrr.toFixed(2)} ${currency}, not paying 3 months before`
          : `MRR ${mrrBefore.toFixed(2)} → ${mrr.toFixed(2)} ${currency} over 3 months (${pct(mrrChange)})${mrrChange < 0 ? ': contraction' : ''}`,
    });
    signals.push(trendSignal('usage', 'monthly active users', usersBefore, usersLast));
    signals.push(
      trendSignal(
        'keyActions',
        config.keyActions.length ? 'key actions' : 'activity events',
        keyBefore,
        keyLast,
        MIN_KEY_ACTIONS,
      ),
    );
    if (paid !== null && paid >= 2) {
      const use = distinctLast3 / paid;
      signals.push({
        signal: 'seats',
        value: use,
        verdict: use < SEATS_BAD ? 'bad' : use >= SEATS_GOOD ? 'good' : 'neutral',
        detail: `${distinctLast3} of ${paid} paid seats active in the last 3 months (${(100 * use).toFixed(0)}%)`,
      });
    }
    const npsValue = answers ? (100 * (answers.promoters - answers.detractors)) / answers.responses : null;
    signals.push({
      signal: 'nps',
      value: npsValue,
      verdict:
        npsValue === null
          ? 'neutral'
          : npsValue < NPS_BAD
            ? 'bad'
            : npsValue >= NPS_GOOD
              ? 'good'
              : 'neutral',
      detail: answers
        ? `NPS ${npsValue?.toFixed(0)} from ${answers.responses} answer${answers.responses === 1 ? '' : 's'} in 3 months (mean score ${answers.meanScore.toFixed(1)})`
        : 'no NPS answers in 3 months',
    });
    signals.push({
      signal: 'tickets',
      value: ticketsLast,
      verdict:
        ticketsLast >= TICKETS_BAD && ticketsLast >= 2 * ticketsBefore * companyTrend ? 'bad' : 'neutral',
      detail:
        `tickets ${ticketsBefore} → ${ticketsLast} (3 months vs 3 before)` +
        (companyTrend > 1 ? `; company-wide × ${companyTrend.toFixed(1)}` : ''),
    });
    const feedbackRows = cancelFeedback.filter((f) => f.organization === organization);
    const cancelling = scheduled.has(organization) || feedbackRows.length > 0;
    signals.push({
      signal: 'cancellation',
      value: cancelling ? 1 : 0,
      verdict: cancelling ? 'bad' : 'neutral',
      detail:
        [
          scheduled.has(organization) ? `a subscription is set to cancel at the end of ${month}` : null,
          feedbackRows.length ? `${feedbackRows.length} cancellation feedback in 3 months` : null,
        ]
          .filter((x) => x !== null)
          .join('; ') || 'no cancellation signal',
    });

    return {
      organization,
      name:
        groupNames.find((g) => g.group_key === organization)?.name ?? names.get(organization) ?? organization,
      mrr,
      mrrTrend,
      health: healthOf(signals),
      signals,
      activeUsers: {
        last3: usersLast,
        previous3: usersBefore,
        change: relativeChange(usersBefore, usersLast),
        distinctLast3,
      },
      keyActions: { last3: keyLast, previous3: keyBefore, change: relativeChange(keyBefore, keyLast) },
      seats: { used: distinctLast3, paid },
      nps: { responses: answers?.responses ?? 0, nps: npsValue, meanScore: answers?.meanScore ?? null },
      tickets: { last3: ticketsLast, previous3: ticketsBefore },
    };
  });

  // All month-end MRR, unlinked customers included: the top customers' share of the business.
  const totalMrr = timeline.filter((r) => r.month === month).reduce((s, r) => s + r.mrr, 0);
  const topMrr = customers.reduce((s, c) => s + c.mrr, 0);
  const worried = customers.filter((c) => c.health === 'unhappy' || c.health === 'at-risk');
  const findings: Finding[] = worried.map((c) => {
    const bad = c.signals.filter((s) => s.verdict === 'bad');
    return {
      title: `${c.name} (${c.mrr.toFixed(2)} ${currency} MRR) is ${c.health}: ${bad.map((s) => s.signal).join(', ')}`,
      detail: `${bad.map((s) => s.detail).join('; ')}.`,
      evidence: { organization: c.organization, health: c.health, mrrAtStake: c.mrr, signals: c.signals },
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
    method,
    findings,
    data: { customers, topMrr, totalMrr, windows: { last3, previous3 } },
  };
}

export const topCustomers: DeepDiveRunner = { id: ID, question: QUESTION, run };

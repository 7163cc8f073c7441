/**
 * Drill-down: the customers or users behind a number of a review — a metric's cell (metric ×
 * month) or a deep dive's finding. Each list is read with the same definition as the number it
 * explains, from the function that defines it (metrics/revenue/customer-mrr.ts,
 * metrics/usage/active.ts, metrics/feedback/{nps,counts}.ts), so the list and the number agree.
 */
import type { Month } from '../domain/month.js';
import { compareText } from '../domain/order.js';
import type { Review } from '../domain/review.js';
import { feedbackRowsIn, type CountedKind } from '../metrics/feedback/counts.js';
import { npsRespondents } from '../metrics/feedback/nps.js';
import { customerRevenueTimeline, type Movement } from '../metrics/revenue/customer-mrr.js';
import type { MetricContext } from '../metrics/types.js';
import { activeActorsIn, type ActiveActor, type Actor } from '../metrics/usage/active.js';
import type { AppContext } from './context.js';
import { scopeOf } from './products.js';

export type DrillUnit = 'text' | 'currency' | 'count' | 'date' | 'score';

export interface DrillDown {
  /** "Customers behind New MRR, 2026-10". */
  title: string;
  /** How the list relates to the number. */
  note: string;
  columns: { key: string; label: string; unit: DrillUnit }[];
  rows: Record<string, string | number | null>[];
  /** How many there are; more than `rows.length` when the list was cut at `DRILL_LIMIT`. */
  total: number;
  currency: string;
}

export const DRILL_LIMIT = 500;

const CUSTOMER_COLUMNS: DrillDown['columns'] = [
  { key: 'name', label: 'Customer', unit: 'text' },
  { key: 'organization', label: 'Organization', unit: 'text' },
  { key: 'mrr', label: 'MRR', unit: 'currency' },
  { key: 'previousMrr', label: 'MRR a month before', unit: 'currency' },
  { key: 'movement', label: 'Movement', unit: 'text' },
  { key: 'plan', label: 'Plan', unit: 'text' },
];

const ACTOR_COLUMNS: Record<Actor, DrillDown['columns']> = {
  person: [
    { key: 'actor', label: 'User', unit: 'text' },
    { key: 'name', label: 'Name', unit: 'text' },
    { key: 'email', label: 'Email', unit: 'text' },
    { key: 'organizationName', label: 'Organization', unit: 'text' },
    { key: 'events', label: 'Events in the month', unit: 'count' },
    { key: 'firstSeen', label: 'First seen', unit: 'date' },
  ],
  organization: [
    { key: 'actor', label: 'Organization', unit: 'text' },
    { key: 'name', label: 'Name', unit: 'text' },
    { key: 'events', label: 'Events in the month', unit: 'count' },
    { key: 'firstSeen', label: 'First seen', unit: 'date' },
  ],
};

type RevenueFilter = (r: { mrr: number; previousMrr: number; movement: Movement }) => boolean;

const REVENUE: Record<string, { what: string; keep: RevenueFilter }> = {
  mrr: { what: 'paying at the month’s end', keep: (r) => r.mrr > 0 },
  arr: { what: 'paying at the month’s end', keep: (r) => r.mrr > 0 },
  arpa: { what: 'paying at the month’s end', keep: (r) => r.mrr > 0 },
  paying_customers: { what: 'paying at the month’s end', keep: (r) => r.mrr > 0 },
  new_mrr: { what: 'new this month', keep: (r) => r.movement === 'new' },
  expansion_mrr: { what: 'who expanded', keep: (r) => r.movement === 'expansion' },
  contraction_mrr: { what: 'who contracted', keep: (r) => r.movement === 'contraction' },
  churned_mrr: { what: 'who churned', keep: (r) => r.movement === 'churned' },
  churned_customers: { what: 'who churned', keep: (r) => r.movement === 'churned' },
  customer_churn_rate: { what: 'who churned', keep: (r) => r.movement === 'churned' },
  revenue_churn_rate: {
    what: 'who churned or contracted',
    keep: (r) => r.movement === 'churned' || r.movement === 'contraction',
  },
  reactivation_mrr: { what: 'who came back', keep: (r) => r.movement === 'reactivation' },
  net_revenue_retention: { what: 'paying a month before', keep: (r) => r.previousMrr > 0 },
  gross_revenue_retention: { what: 'paying a month before', keep: (r) => r.previousMrr > 0 },
  mrr_growth: { what: 'whose MRR moved', keep: (r) => r.mrr !== r.previousMrr },
  net_new_mrr: { what: 'whose MRR moved', keep: (r) => r.mrr !== r.previousMrr },
};

const USAGE: Record<string, { actor: Actor; onlyNew: boolean }> = {
  active_users: { actor: 'person', onlyNew: false },
  dau: { actor: 'person', onlyNew: false },
  wau: { actor: 'person', onlyNew: false },
  mau: { actor: 'person', onlyNew: false },
  stickiness: { actor: 'person', onlyNew: false },
  user_growth_rate: { actor: 'person', onlyNew: false },
  new_users: { actor: 'person', onlyNew: true },
  active_organizations: { actor: 'organization', onlyNew: false },
  organization_growth_rate: { actor: 'organization', onlyNew: false },
  new_organizations: { actor: 'organization', onlyNew: true },
};

const FEEDBACK: Record<string, CountedKind> = {
  tickets: 'ticket',
  feature_requests: 'request',
  interviews: 'interview',
};

const NPS_IDS = new Set(['nps', 'nps_responses', 'nps_promoters', 'nps_passives', 'nps_detractors']);

/** Whether `metricId` has a list behind it (the web app links only those cells). */
export function canDrillMetric(metricId: string): boolean {
  return (
    metricId in REVENUE ||
    metricId in USAGE ||
    metricId in FEEDBACK ||
    NPS_IDS.has(metricId) ||
    metricId.startsWith('key_action:')
  );
}

/** The customers or users behind `metricId` in `month`; null when it has no such list. */
export async function drillMetric(
  ctx: AppContext,
  input: { product: string; month: Month; metricId: string; label?: string },
): Promise<DrillDown | null> {
  const { metricId, month } = input;
  const mctx: MetricContext = {
    engine: ctx.engine,
    config: ctx.config,
    product: scopeOf(ctx.config, input.product),
    months: [month],
  };
  const label = input.label ?? metricId;
  const currency = ctx.config.reporting.currency;
  const revenue = REVENUE[metricId];
  if (revenue) {
    const rows = (await customerRevenueTimeline(mctx))
      .filter((r) => r.month === month && revenue.keep(r))
      .sort(
        (a, b) =>
          Math.max(b.mrr, b.previousMrr) - Math.max(a.mrr, a.previousMrr) ||
          compareText(a.customerId, b.customerId),
      );
    return {
      title: `Customers behind ${label}, ${month}`,
      note: `The billing customers ${revenue.what} (${rows.length}), with their month-end MRR in ${currency}.`,
      columns: CUSTOMER_COLUMNS,
      rows: rows.slice(0, DRILL_LIMIT).map((r) => ({
        name: r.name ?? r.customerId,
        organization: r.organization,
        mrr: r.mrr,
        previousMrr: r.previousMrr,
        movement: r.movement,
        plan: r.plan,
      })),
      total: rows.length,
      currency,
    };
  }
  const usage = USAGE[metricId];
  const keyAction = metricId.startsWith('key_action:') ? metricId.slice('key_action:'.length) : undefined;
  if (usage || keyAction !== undefined) {
    const actor = usage?.actor ?? 'person';
    const onlyNew = usage?.onlyNew ?? false;
    const { total, actors } = await activeActorsIn(mctx, actor, month, {
      onlyNew,
      limit: DRILL_LIMIT,
      event: keyAction,
    });
    const who = actor === 'person' ? 'Users' : 'Organizations';
    const what =
      keyAction !== undefined
        ? `who did “${keyAction}” in the month`
        : onlyNew
          ? 'whose first activity was in the month'
          : 'active in the month (at least one activity event)';
    return {
      title: `${who} behind ${label}, ${month}`,
      note: `${who} ${what}: ${total}, most events first.`,
      columns: ACTOR_COLUMNS[actor],
      rows: actors.map(actorRow),
      total,
      currency,
    };
  }
  const kind = FEEDBACK[metricId];
  if (kind) {
    const rows = await feedbackRowsIn(mctx, kind, month);
    return {
      title: `${label}, ${month}`,
      note: `The ${kind} feedback rows created in the month (${rows.length}).`,
      columns: [
        { key: 'createdAt', label: 'Created', unit: 'date' },
        { key: 'organization', label: 'Organization', unit: 'text' },
        { key: 'email', label: 'From', unit: 'text' },
        { key: 'title', label: 'Title', unit: 'text' },
        { key: 'status', label: 'Status', unit: 'text' },
      ],
      rows: rows.slice(0, DRILL_LIMIT).map((r) => ({ ...r })),
      total: rows.length,
      currency,
    };
  }
  if (NPS_IDS.has(metricId)) {
    const rows = await npsRespondents(mctx, month);
    return {
      title: `NPS answers behind ${label}, ${month}`,
      note: `Each person's latest answer in the month (${rows.length}), lowest score first: 0–6 detractors, 7–8 passives, 9–10 promoters.`,
      columns: [
        { key: 'person', label: 'Person', unit: 'text' },
        { key: 'score', label: 'Score', unit: 'score' },
        { key: 'answeredAt', label: 'Answered', unit: 'date' },
      ],
      rows: rows.slice(0, DRILL_LIMIT).map((r) => ({ ...r })),
      total: rows.length,
      currency,
    };
  }
  return null;
}

/**
 * The customers or users behind finding `index` of deep dive `diveId` in `review`: the users of
 * the organization a finding names (top customers), or the churned customers the churn deep
 * dive read. null when the finding names nobody.
 */
export async function drillFinding(
  ctx: AppContext,
  review: Review,
  diveId: string,
  index: number,
): Promise<DrillDown | null> {
  const dive = review.deepDives.find((d) => d.id === diveId);
  const finding = dive?.findings[index];
  if (!dive || !finding) return null;
  const currency = review.currency;
  const organization = finding.evidence.organization;
  if (typeof organization === 'string') {
    const mctx: MetricContext = {
      engine: ctx.engine,
      config: ctx.config,
      product: scopeOf(ctx.config, review.product),
      months: [review.month],
    };
    const { total, actors } = await activeActorsIn(mctx, 'person', review.month, {
      limit: DRILL_LIMIT,
      organization,
    });
    const name = organizationName(dive.data, organization) ?? actors[0]?.organizationName ?? organization;
    return {
      title: `Users of ${name}, ${review.month}`,
      note: `“${finding.title}”: the organization's users active in the month (${total}), most events first.`,
      columns: ACTOR_COLUMNS.person,
      rows: actors.map(actorRow),
      total,
      currency,
    };
  }
  const churned = dive.data.churned;
  if (Array.isArray(churned)) {
    const rows = (churned as Record<string, unknown>[]).map((c) => ({
      name: typeof c.name === 'string' ? c.name : null,
      organization: typeof c.organization === 'string' ? c.organization : null,
      mrr: typeof c.mrr === 'number' ? c.mrr : null,
    }));
    return {
      title: `Customers behind “${finding.title}”`,
      note: `The customers who churned in ${review.month} (${rows.length}) that the churn deep dive read, with the MRR they had.`,
      columns: [
        { key: 'name', label: 'Customer', unit: 'text' },
        { key: 'organization', label: 'Organization', unit: 'text' },
        { key: 'mrr', label: 'MRR lost', unit: 'currency' },
      ],
      rows: rows.slice(0, DRILL_LIMIT),
      total: rows.length,
      currency,
    };
  }
  return null;
}

function actorRow(a: ActiveActor): Record<string, string | number | null> {
  return { ...a, organizationName: a.organizationName ?? a.organization };
}

/** The name a deep dive's rows give an organization (`{ organization, name }`), if any. */
function organizationName(data: Record<string, unknown>, organization: string): string | null {
  for (const rows of Object.values(data)) {
    if (!Array.isArray(rows)) continue;
    for (const r of rows as Record<string, unknown>[]) {
      if (r && r.organization === organization && typeof r.name === 'string') return r.name;
    }
  }
  return null;
}

/** Whether a finding has a list behind it (the web app links only those). */
export function canDrillFinding(review: Review, diveId: string, index: number): boolean {
  const dive = review.deepDives.find((d) => d.id === diveId);
  const finding = dive?.findings[index];
  if (!dive || !finding) return false;
  return typeof finding.evidence.organization === 'string' || Array.isArray(dive.data.churned);
}

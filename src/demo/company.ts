/**
 * The demo company as a plan: organizations, their people and their subscriptions, decided up
 * front (small: a few thousand objects) so events can then be streamed per person without holding
 * them. Every planted effect is decided here, with its parameters, and nothing else varies by the
 * same dimensions (see truth.ts for what is planted and how strongly).
 */
import { addMonths, monthEnd, monthStart, type Month } from '../domain/month.js';
import {
  CHAMPION_ROLES,
  COUNTRIES,
  FIRST,
  FX_EUR_USD,
  INDUSTRIES,
  LAST,
  NAME_A,
  NAME_B,
  ROLES,
  findPrice,
  type Currency,
  type PlanName,
  type PriceDef,
} from './catalog.js';
import { Random } from './random.js';

export const DAY = 86_400_000;

/** The planted effects' parameters (truth.json reports them). */
export const PLANT = {
  icp: {
    property: 'employees',
    threshold: 50,
    feature: 'alerts',
    icpAdoption: 0.8,
    nonIcpAdoption: 0.1,
    otherAdoption: 0.6,
  },
  churn: {
    plan: 'Starter' as PlanName,
    reviewMonthRate: 0.5,
    baselineRate: 0.02,
    annualRenewalRate: 0.12,
    theme: 'price',
  },
  invites: {
    threshold: 3,
    windowDays: 7,
    inviterShare: 0.3,
    championInviterShare: 0.6,
    retainedIfInviter: 0.85,
    retainedOtherwise: 0.25,
  },
  onboarding: { conversion: [1, 0.85, 0.45, 0.8, 0.75] as const },
  topCustomer: { rank: 3, collapseTo: 0.12, npsFrom: 1, npsTo: 5 },
  ticketsAnomaly: { factor: 5 },
} as const;

export interface SubItem {
  id: string;
  price: PriceDef;
  quantity: number;
}

export interface SubChange {
  at: number;
  /** Index into items. */
  item: number;
  quantity: number;
  price: PriceDef;
}

export interface Sub {
  id: string;
  created: number;
  trialStart: number | null;
  trialEnd: number | null;
  /** Start of the first paid period (the billing anchor); equals trialEnd after a trial. */
  paidStart: number;
  converted: boolean;
  items: SubItem[];
  changes: SubChange[];
  canceledAt: number | null;
  endedAt: number | null;
  coupon: boolean;
  /** Periods (by index) whose invoice is not paid: `uncollectible` or left `open`. */
  unpaid: Map<number, 'uncollectible' | 'open'>;
  reactivation: boolean;
  cancellationTheme: string | null;
}

export interface Person {
  index: number;
  distinctId: string;
  anonId: string;
  email: string;
  name: string;
  role: string;
  signupAt: number;
  champion: boolean;
  inviter: boolean;
  retained: boolean;
  /** Non-retained people go dormant this long after signing up. */
  dormantAt: number;
  resurrect: { from: number; to: number } | null;
  /** Position in the org's departure order: the person is active while u < org factor. */
  u: number;
  rate: number;
  skewMs: number;
  flagged: boolean;
  secondDevice: number | null;
  referrer: string;
  browser: string;
  os: string;
  onboarding: number[];
}

export interface Org {
  index: number;
  key: string;
  name: string;
  domain: string;
  employees: number;
  industry: string;
  country: string;
  tzHours: number;
  currency: Currency;
  icp: boolean;
  enterprise: boolean;
  createdAt: number;
  /** Usage windows [from, to). */
  usage: Array<{ from: number; to: number }>;
  /** When usage declines to 25% before a churn, or collapses (top customer): factor ramps. */
  declines: Array<{ from: number; to: number; floor: number }>;
  features: Set<string>;
  people: Person[];
  customerId: string | null;
  linkByMetadata: boolean;
  subs: Sub[];
  taxRate: 'vat' | 'salesTax' | null;
  plannedPlan: PlanName | null;
}

export interface World {
  seed: number;
  start: number;
  until: number;
  month: Month;
  orgs: Org[];
  flagRolloutAt: number;
  topCustomerKey: string | null;
}

function employeesOf(r: Random): number {
  const bucket = r.weighted<[number, number]>([
    [[2, 10], 25],
    [[11, 49], 40],
    [[50, 199], 22],
    [[200, 999], 10],
    [[1000, 5000], 3],
  ]);
  return r.int(bucket[0], bucket[1]);
}

function peopleCount(r: Random, employees: number, enterprise: boolean): number {
  if (enterprise) return r.int(25, 55);
  if (employees <= 10) return r.int(1, 3);
  if (employees < 50) return r.int(2, 6);
  if (employees < 200) return r.int(3, 10);
  if (employees < 1000) return r.int(5, 16);
  return r.int(8, 22);
}

/** Adds `n` calendar months to a UTC instant, clamping the day like Stripe's billing anchor. */
export function addMonthsClamped(t: number, n: number): number {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + n;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(
    y,
    m,
    Math.min(d.getUTCDate(), last),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  );
}

export function intervalMonths(p: PriceDef): number {
  return p.interval === 'year' ? 12 : 1;
}

/** The period boundaries of a subscription's paid life: paidStart, +1 interval, … (until `end`). */
export function periodStarts(sub: Sub, until: number): number[] {
  const n = intervalMonths(sub.items[0]!.price);
  const end = Math.min(sub.endedAt ?? Infinity, until);
  const out: number[] = [];
  for (let k = 0; ; k++) {
    const t = addMonthsClamped(sub.paidStart, k * n);
    if (t >= end) break;
    out.push(t);
  }
  return out;
}

/** Items after every change up to and including `t`. */
export function itemsAt(sub: Sub, t: number): SubItem[] {
  const items = sub.items.map((i) => ({ ...i }));
  for (const c of sub.changes) {
    if (c.at > t) break;
    const it = items[c.item];
    if (it) {
      it.quantity = c.quantity;
      it.price = c.price;
    }
  }
  return items;
}

/** Monthly recurring revenue of an org at `t`, in USD cents. */
export function mrrAt(org: Org, t: number): number {
  let total = 0;
  for (const s of org.subs) {
    if (!s.converted || s.paidStart > t || (s.endedAt !== null && s.endedAt <= t)) continue;
    for (const it of itemsAt(s, t)) {
      const perMonth = (it.price.unitAmount * it.quantity) / intervalMonths(it.price);
      total += it.price.currency === 'eur' ? perMonth * FX_EUR_USD : perMonth;
    }
  }
  return total;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

/** Picks a creation time, mildly growing: month i gets weight 1 + 0.05·i. */
function creationTime(r: Random, start: number, end: number): number {
  const months = Math.max(1, Math.floor((end - start) / (30 * DAY)));
  const weights: Array<[number, number]> = [];
  for (let i = 0; i < months; i++) weights.push([i, 1 + 0.05 * i]);
  const m = r.weighted(weights);
  const from = start + m * 30 * DAY;
  return Math.min(end - DAY, from + r.float() * 30 * DAY);
}

export function buildWorld(opts: { seed: number; orgs: number; until: Date }): World {
  const until = Date.UTC(opts.until.getUTCFullYear(), opts.until.getUTCMonth(), opts.until.getUTCDate());
  const month = addMonths(`${opts.until.toISOString().slice(0, 7)}`, -1);
  const start = monthStart(addMonths(month, -15)).getTime();
  const reviewStart = monthStart(month).getTime();
  const reviewEnd = monthEnd(month).getTime();
  const flagRolloutAt = monthStart(addMonths(month, -7)).getTime();
  const enterpriseCount = Math.min(12, Math.max(1, Math.round(opts.orgs * 0.03)));
  const names = new Set<string>();
  const orgs: Org[] = [];

  for (let i = 0; i < opts.orgs; i++) {
    const r = Random.derive(opts.seed, 'org', i);
    const enterprise = i < enterpriseCount;
    const [country, , tzHours, currency] = r.weighted(COUNTRIES.map((c) => [c, c[1]] as const));
    const employees = enterprise ? r.int(600, 5000) : employeesOf(r);
    let name = `${r.pick(NAME_A)} ${r.pick(NAME_B)}`;
    while (names.has(name)) name = `${name} ${r.pick(['Labs', 'Group', 'HQ', 'Co', 'Systems'])}`;
    names.add(name);
    const domain = `${slug(name)}.example`;
    const icp = employees >= PLANT.icp.threshold;
    const createdAt = enterprise
      ? start + r.float() * 45 * DAY
      : i < opts.orgs * 0.15
        ? start + r.float() * 30 * DAY
        : creationTime(r, start, until - 3 * DAY);
    const features = new Set<string>(['core']);
    if (r.chance(PLANT.icp.otherAdoption)) features.add('comments');
    if (r.chance(PLANT.icp.otherAdoption)) features.add('exports');
    if (r.chance(icp ? PLANT.icp.icpAdoption : PLANT.icp.nonIcpAdoption)) features.add('alerts');

    const org: Org = {
      index: i,
      key: `org_${r.hex(12)}`,
      name,
      domain,
      employees,
      industry: r.pick(INDUSTRIES),
      country,
      tzHours,
      currency,
      icp,
      enterprise,
      createdAt,
      usage: [],
      declines: [],
      features,
      people: [],
      customerId: null,
      linkByMetadata: true,
      subs: [],
      taxRate: currency === 'eur' ? 'vat' : r.chance(0.1) ? 'salesTax' : null,
      plannedPlan: null,
    };
    planBilling(org, r, { start, until, reviewStart, reviewEnd });
    planPeople(org, r, { until, flagRolloutAt });
    orgs.push(org);
  }

  const topCustomerKey = plantTopCustomer(orgs, reviewEnd, month);
  return { seed: opts.seed, start, until, month, orgs, flagRolloutAt, topCustomerKey };
}

interface Span {
  start: number;
  until: number;
  reviewStart: number;
  reviewEnd: number;
}

function planBilling(org: Org, r: Random, span: Span): void {
  const payProb = org.enterprise ? 1 : org.icp ? 0.7 : 0.55;
  const pays = r.chance(payProb);
  const trial = !org.enterprise && r.chance(0.6);
  const trialConverts = r.chance(0.75);
  let usageEnd = span.until + DAY;
  if (!pays && !trial) {
    // A free organization: used for a while, then possibly left.
    const life = r.chance(0.5) ? r.uniform(60, 400) * DAY : Infinity;
    org.usage.push({ from: org.createdAt, to: Math.min(span.until, org.createdAt + life) });
    if (org.createdAt + life < span.until)
      org.declines.push({ from: org.createdAt + life - 30 * DAY, to: org.createdAt + life, floor: 0.3 });
    return;
  }
  const plan: PlanName = org.enterprise
    ? 'Business'
    : org.employees < 50
      ? r.chance(0.6)
        ? 'Starter'
        : 'Team'
      : org.employees < 200
        ? r.chance(0.7)
          ? 'Team'
          : 'Business'
        : 'Business';
  org.plannedPlan = plan;
  const annual = plan !== 'Starter' && r.chance(org.enterprise ? 0.5 : 0.3);
  const interval = annual ? 'year' : 'month';
  const price = findPrice('analytics', plan, interval, org.currency);
  const seats = org.enterprise
    ? ([80, 70, 62, 55, 50, 46, 42, 40, 38, 36, 34, 32][org.index] ?? 30)
    : Math.max(1, Math.round(peopleCount(r, org.employees, false) * r.uniform(0.9, 1.4)));
  org.customerId = `cus_${r.base62(14)}`;
  org.linkByMetadata = !r.chance(0.05);

  const created = org.createdAt + r.uniform(0.5, 6) * DAY;
  const sub: Sub = {
    id: `sub_${r.base62(24)}`,
    created,
    trialStart: trial ? created : null,
    trialEnd: trial ? created + 14 * DAY : null,
    paidStart: trial ? created + 14 * DAY : created,
    converted: !trial || trialConverts,
    items: [{ id: `si_${r.base62(14)}`, price, quantity: seats }],
    changes: [],
    canceledAt: null,
    endedAt: null,
    coupon: !org.enterprise && r.chance(0.1),
    unpaid: new Map(),
    reactivation: false,
    cancellationTheme: null,
  };
  if (!org.enterprise && r.chance(0.3)) {
    sub.items.push({
      id: `si_${r.base62(14)}`,
      price: findPrice('replay', null, interval, org.currency),
      quantity: 1,
    });
  }
  if (sub.items.length > 1 || r.chance(0.15)) org.features.add('replay');
  org.subs.push(sub);

  if (!sub.converted) {
    sub.canceledAt = sub.trialEnd;
    sub.endedAt = sub.trialEnd;
    usageEnd = (sub.trialEnd ?? created) + r.uniform(0, 20) * DAY;
    org.usage.push({ from: org.createdAt, to: Math.min(usageEnd, span.until) });
    return;
  }

  // Walk the periods: changes mid-period, churn at a period end.
  const n = intervalMonths(price);
  let current = { quantity: seats, price };
  for (let k = 1; ; k++) {
    const boundary = addMonthsClamped(sub.paidStart, k * n);
    if (boundary >= span.until) break;
    const inReview = boundary >= span.reviewStart && boundary < span.reviewEnd;
    const rate = org.enterprise
      ? 0
      : n === 12
        ? PLANT.churn.annualRenewalRate
        : inReview && current.price.nickname === PLANT.churn.plan
          ? PLANT.churn.reviewMonthRate
          : PLANT.churn.baselineRate;
    if (r.chance(rate)) {
      sub.endedAt = boundary;
      sub.canceledAt = Math.max(sub.paidStart + DAY, boundary - r.uniform(2, 20) * DAY);
      const planted = inReview && current.price.nickname === PLANT.churn.plan;
      sub.cancellationTheme = planted
        ? PLANT.churn.theme
        : r.pick([
            'price',
            'missing-features',
            'competitor',
            'shut-down',
            'not-using',
            'missing-features',
            'competitor',
          ]);
      if (!planted && r.chance(0.2)) sub.unpaid.set(k - 1, 'uncollectible');
      break;
    }
    // Seat and plan changes strictly inside the next period (so they land on its next invoice).
    const next = addMonthsClamped(sub.paidStart, (k + 1) * n);
    if (next < span.until && r.chance(n === 12 ? 0.3 : 0.06)) {
      const at = boundary + r.uniform(0.2, 0.8) * (next - boundary);
      const up = r.chance(0.7);
      let q = up ? current.quantity + r.int(1, 3) : Math.max(1, current.quantity - r.int(1, 2));
      let p = current.price;
      if (n === 1 && up && r.chance(0.15) && p.nickname === 'Team')
        p = findPrice('analytics', 'Business', 'month', org.currency);
      if (n === 1 && !up && r.chance(0.1) && p.nickname === 'Business')
        p = findPrice('analytics', 'Team', 'month', org.currency);
      if (q === current.quantity && p === current.price) q += 1;
      // Planted churners' plan must stay the plan they churn from.
      if (p.nickname !== current.price.nickname && current.price.nickname === PLANT.churn.plan)
        p = current.price;
      sub.changes.push({ at, item: 0, quantity: q, price: p });
      current = { quantity: q, price: p };
    }
  }
  // One invoice left open (past due) in the review month for a random few.
  if (sub.endedAt === null && r.chance(0.02)) {
    const starts = periodStarts(sub, span.until);
    const k = starts.findIndex((t) => t >= span.reviewStart && t < span.reviewEnd);
    if (k > 0) sub.unpaid.set(k, 'open');
  }

  const endedAt = sub.endedAt;
  if (endedAt === null) {
    org.usage.push({ from: org.createdAt, to: span.until + DAY });
    return;
  }
  usageEnd = endedAt + r.uniform(0, 7) * DAY;
  org.declines.push({ from: endedAt - 45 * DAY, to: endedAt, floor: 0.25 });
  // Some come back: a reactivation 40–120 days later, same plan.
  const back = endedAt + r.uniform(40, 120) * DAY;
  if (sub.cancellationTheme !== PLANT.churn.theme && r.chance(0.15) && back < span.until - 5 * DAY) {
    const again: Sub = {
      ...sub,
      id: `sub_${r.base62(24)}`,
      created: back,
      trialStart: null,
      trialEnd: null,
      paidStart: back,
      items: itemsAt(sub, endedAt).map((i) => ({ ...i, id: `si_${r.base62(14)}` })),
      changes: [],
      canceledAt: null,
      endedAt: null,
      coupon: false,
      unpaid: new Map(),
      reactivation: true,
      cancellationTheme: null,
    };
    org.subs.push(again);
    org.usage.push({ from: org.createdAt, to: usageEnd });
    org.usage.push({ from: back - 3 * DAY, to: span.until + DAY });
  } else {
    org.usage.push({ from: org.createdAt, to: Math.min(usageEnd, span.until + DAY) });
  }
}

function planPeople(org: Org, r: Random, ctx: { until: number; flagRolloutAt: number }): void {
  const n = peopleCount(r, org.employees, org.enterprise);
  const lastUse = Math.max(...org.usage.map((u) => u.to));
  for (let j = 0; j < n; j++) {
    const champion = j === 0;
    const early = champion || r.chance(0.5);
    const signupAt = champion
      ? org.createdAt
      : early
        ? org.createdAt + r.uniform(0.05, 14) * DAY
        : org.createdAt + r.float() * Math.max(DAY, Math.min(lastUse, ctx.until) - org.createdAt);
    const inviter = r.chance(champion ? PLANT.invites.championInviterShare : PLANT.invites.inviterShare);
    const retained =
      champion || r.chance(inviter ? PLANT.invites.retainedIfInviter : PLANT.invites.retainedOtherwise);
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    const dormantAt = signupAt + r.uniform(15, 45) * DAY;
    const resurrectFrom = dormantAt + r.uniform(60, 300) * DAY;
    const conv = PLANT.onboarding.conversion;
    const onboarding: number[] = [signupAt];
    const gaps = [
      () => r.uniform(1, 30) * 60_000,
      () => r.uniform(10 * 60_000, 2 * DAY),
      () => r.uniform(5 * 60_000, DAY),
      () => r.uniform(30 * 60_000, 3 * DAY),
    ];
    for (let s = 1; s < conv.length; s++) {
      if (!r.chance(conv[s] ?? 0)) break;
      onboarding.push((onboarding[s - 1] ?? signupAt) + (gaps[s - 1]?.() ?? 0));
    }
    org.people.push({
      index: j,
      distinctId: `user_${r.hex(16)}`,
      anonId: r.uuid7(signupAt - DAY),
      email: `${first.toLowerCase()}.${last.toLowerCase()}${j}@${org.domain}`,
      name: `${first} ${last}`,
      role: champion ? r.pick(CHAMPION_ROLES) : r.pick(ROLES),
      signupAt,
      champion,
      inviter,
      retained,
      dormantAt,
      resurrect:
        !retained && r.chance(0.08)
          ? { from: resurrectFrom, to: resurrectFrom + r.uniform(7, 21) * DAY }
          : null,
      u: champion ? 0 : r.float(),
      rate: Math.exp(r.normal(-0.125, 0.5)),
      skewMs: r.chance(0.05) ? r.uniform(-300_000, 300_000) : 0,
      flagged: r.chance(0.5),
      secondDevice: r.chance(0.2) ? signupAt + r.uniform(3, 120) * DAY : null,
      referrer: r.pick([
        'https://www.google.com/',
        '$direct',
        'https://news.ycombinator.com/',
        'https://www.linkedin.com/',
        'https://github.com/',
      ]),
      browser: r.pick(['Chrome', 'Chrome', 'Chrome', 'Safari', 'Firefox', 'Microsoft Edge']),
      os: r.pick(['Mac OS X', 'Mac OS X', 'Windows', 'Linux']),
      onboarding,
    });
  }
}

/** The org ranked `PLANT.topCustomer.rank` by MRR at the review month's end collapses in its last three months. */
function plantTopCustomer(orgs: Org[], reviewEnd: number, month: Month): string | null {
  const ranked = orgs
    .filter((o) => o.enterprise && o.subs.some((s) => s.converted))
    .map((o) => ({ o, mrr: mrrAt(o, reviewEnd - 1) }))
    .sort((a, b) => b.mrr - a.mrr || a.o.index - b.o.index);
  const pick = ranked[Math.min(PLANT.topCustomer.rank, ranked.length) - 1];
  if (!pick) return null;
  // Most of its people leave within the first of the three months; the rest stay through the review month.
  const from = monthStart(addMonths(month, -2)).getTime();
  const to = monthStart(addMonths(month, -1)).getTime();
  pick.o.declines.push({ from, to, floor: PLANT.topCustomer.collapseTo });
  return pick.o.key;
}

/** The org's usage factor at `t` in [0, 1]: 1 normally, ramping down within a decline. */
export function orgFactor(org: Org, t: number): number {
  let inUse = false;
  for (const u of org.usage) if (t >= u.from && t < u.to) inUse = true;
  if (!inUse) return 0;
  let f = 1;
  for (const d of org.declines) {
    if (t < d.from) continue;
    // A decline before a churn ends with the usage window; a collapse stays at its floor.
    const x = t >= d.to ? d.floor : 1 - ((t - d.from) / (d.to - d.from)) * (1 - d.floor);
    const after =
      t >= d.to && d.floor > 0.2 && org.subs.some((s) => s.reactivation && s.paidStart - 3 * DAY <= t);
    f = Math.min(f, after ? 1 : x);
  }
  return f;
}

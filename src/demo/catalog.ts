/**
 * The demo company's fixed vocabulary: its Stripe products and prices, its event names, the
 * people and firmographics it draws from. Everything else reads names from here or from the
 * generated config, never from string literals scattered through the generator.
 */
export const COMPANY = { name: 'Lumen', site: 'https://www.lumen.example', app: 'https://app.lumen.example' };

export type Currency = 'usd' | 'eur';
export type PlanName = 'Starter' | 'Team' | 'Business';

export const PRODUCTS = {
  analytics: { id: 'prod_LumenAnalytics1', name: 'Lumen Analytics' },
  replay: { id: 'prod_LumenReplay0001', name: 'Lumen Session Replay' },
} as const;
export type ProductKey = keyof typeof PRODUCTS;

export interface PriceDef {
  id: string;
  product: ProductKey;
  /** The plan name (SPEC §3.2: a line's plan is its price's nickname); null: the product's name. */
  nickname: PlanName | null;
  currency: Currency;
  /** Minor units per seat (or flat) per interval. */
  unitAmount: number;
  interval: 'month' | 'year';
}

function price(
  product: ProductKey,
  nickname: PlanName | null,
  interval: 'month' | 'year',
  usd: number,
  eur: number,
): PriceDef[] {
  const tag = `${nickname ?? 'Replay'}${interval === 'month' ? 'Monthly' : 'Annual'}`;
  return [
    { id: `price_1${tag}Usd`, product, nickname, currency: 'usd', unitAmount: usd, interval },
    { id: `price_1${tag}Eur`, product, nickname, currency: 'eur', unitAmount: eur, interval },
  ];
}

export const PRICES: readonly PriceDef[] = [
  ...price('analytics', 'Starter', 'month', 2500, 2300),
  ...price('analytics', 'Team', 'month', 5000, 4600),
  ...price('analytics', 'Team', 'year', 50000, 46000),
  ...price('analytics', 'Business', 'month', 10000, 9200),
  ...price('analytics', 'Business', 'year', 100000, 92000),
  ...price('replay', null, 'month', 15000, 14000),
  ...price('replay', null, 'year', 150000, 140000),
];

export function findPrice(
  product: ProductKey,
  plan: PlanName | null,
  interval: 'month' | 'year',
  currency: Currency,
): PriceDef {
  const p = PRICES.find(
    (x) => x.product === product && x.nickname === plan && x.interval === interval && x.currency === currency,
  );
  if (!p) throw new Error(`no demo price for ${product}/${plan}/${interval}/${currency}`);
  return p;
}

/** Units of USD per EUR, written to the demo config's reporting.fx. */
export const FX_EUR_USD = 1.08;

export const COUPON = { id: 'LAUNCH20', percentOff: 20, durationInMonths: 3, name: 'Launch offer 20%' };
export const TAX_RATES = {
  vat: { id: 'txr_1EuVat19Percent', percent: 19 },
  salesTax: { id: 'txr_1UsSalesTax825', percent: 8.25 },
};

/** Event names. The onboarding steps and key actions are written to the demo's config. */
export const EV = {
  signedUp: 'signed up',
  projectCreated: 'project created',
  dataSourceConnected: 'data source connected',
  firstInsightCreated: 'first insight created',
  dashboardCreated: 'dashboard created',
  inviteSent: 'invite sent',
  insightCreated: 'insight created',
  insightViewed: 'insight viewed',
  dashboardViewed: 'dashboard viewed',
  queryRun: 'query run',
  commentAdded: 'comment added',
  reportExported: 'report exported',
  alertCreated: 'alert created',
  recordingViewed: 'recording viewed',
  recordingShared: 'recording shared',
} as const;

export const ONBOARDING_STEPS = [
  EV.signedUp,
  EV.projectCreated,
  EV.dataSourceConnected,
  EV.firstInsightCreated,
  EV.dashboardCreated,
] as const;

/** Product actions and their weights in a user's daily mix; `replay` ones only where adopted. */
export const ACTIONS: ReadonlyArray<{ event: string; weight: number; feature: string }> = [
  { event: EV.insightViewed, weight: 24, feature: 'core' },
  { event: EV.dashboardViewed, weight: 20, feature: 'core' },
  { event: EV.queryRun, weight: 14, feature: 'core' },
  { event: EV.insightCreated, weight: 9, feature: 'core' },
  { event: EV.dashboardCreated, weight: 6, feature: 'core' },
  { event: EV.commentAdded, weight: 7, feature: 'comments' },
  { event: EV.reportExported, weight: 7, feature: 'exports' },
  { event: EV.alertCreated, weight: 7, feature: 'alerts' },
  { event: EV.inviteSent, weight: 5, feature: 'core' },
  { event: EV.recordingViewed, weight: 14, feature: 'replay' },
  { event: EV.recordingShared, weight: 6, feature: 'replay' },
];

export const KEY_ACTIONS = [
  EV.insightCreated,
  EV.dashboardViewed,
  EV.recordingViewed,
  EV.inviteSent,
  EV.alertCreated,
];

export const FLAGS = { newInsightsUi: 'new-insights-ui', replayV2: 'replay-v2' } as const;
export const NPS_SURVEY_ID = '0190a3c1-5e1f-7000-8000-00000000a5c1';

export const COUNTRIES: ReadonlyArray<readonly [string, number, number, Currency]> = [
  // code, weight, UTC offset (hours), billing currency
  ['US', 38, -5, 'usd'],
  ['GB', 10, 0, 'usd'],
  ['DE', 10, 1, 'eur'],
  ['FR', 7, 1, 'eur'],
  ['NL', 5, 1, 'eur'],
  ['ES', 4, 1, 'eur'],
  ['CA', 6, -5, 'usd'],
  ['AU', 4, 10, 'usd'],
  ['IN', 6, 5.5, 'usd'],
  ['BR', 4, -3, 'usd'],
  ['JP', 3, 9, 'usd'],
];

export const INDUSTRIES = [
  'Software',
  'Fintech',
  'E-commerce',
  'Healthcare',
  'Media',
  'Education',
  'Logistics',
  'Gaming',
  'Travel',
  'Manufacturing',
];

export const NAME_A = [
  'Blue',
  'Northern',
  'Bright',
  'Silver',
  'Quiet',
  'Rapid',
  'Golden',
  'Clear',
  'Red',
  'Open',
  'Green',
  'Iron',
  'Lucky',
  'Prime',
  'Swift',
  'Urban',
  'Polar',
  'Solar',
  'Coral',
  'Maple',
];
export const NAME_B = [
  'Harbor',
  'Forge',
  'Pixel',
  'Orbit',
  'Canyon',
  'Ledger',
  'Beacon',
  'Summit',
  'Atlas',
  'Works',
  'Signal',
  'Grove',
  'Anchor',
  'Vector',
  'Meadow',
  'Circuit',
  'Bridge',
  'Nimbus',
  'Quarry',
  'Lantern',
];
export const FIRST = [
  'Ada',
  'Ben',
  'Chloe',
  'Dev',
  'Elena',
  'Farid',
  'Grace',
  'Hugo',
  'Ines',
  'Jonas',
  'Keiko',
  'Liam',
  'Maya',
  'Noah',
  'Olga',
  'Priya',
  'Quinn',
  'Rosa',
  'Sam',
  'Tariq',
  'Uma',
  'Victor',
  'Wen',
  'Yusuf',
  'Zoe',
];
export const LAST = [
  'Adams',
  'Becker',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Hansen',
  'Ito',
  'Jensen',
  'Kowalski',
  'Lopez',
  'Martin',
  'Nakamura',
  'Okafor',
  'Patel',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Weber',
];
export const ROLES = [
  'engineer',
  'engineer',
  'engineer',
  'product manager',
  'designer',
  'data analyst',
  'marketing',
];
export const CHAMPION_ROLES = ['founder', 'engineering lead', 'product manager', 'head of growth'];
export const REFERRERS = [
  'https://www.google.com/',
  'https://news.ycombinator.com/',
  'https://twitter.com/',
  '$direct',
  'https://www.linkedin.com/',
  'https://github.com/',
];
export const BROWSERS = ['Chrome', 'Chrome', 'Chrome', 'Safari', 'Firefox', 'Microsoft Edge'];
export const OSES = ['Mac OS X', 'Mac OS X', 'Windows', 'Linux'];
export const MARKETING_PATHS = [
  '/',
  '/pricing',
  '/product/analytics',
  '/product/session-replay',
  '/blog/funnels-101',
  '/docs/getting-started',
  '/customers',
];

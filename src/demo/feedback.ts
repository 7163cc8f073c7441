/**
 * The demo company's feedback (SPEC §3.3): support tickets, feature requests, interview notes and
 * e-mailed NPS answers in `feedback.csv`, and cancellation reasons from the churn survey in
 * `cancellations.jsonl`. Ticket volume is flat except in the review month (the planted anomaly).
 */
import { addMonths, monthEnd, monthOf, monthStart } from '../domain/month.js';
import { DAY, PLANT, orgFactor, type World } from './company.js';
import { Random } from './random.js';
import { compareText } from '../domain/order.js';

export interface FeedbackRow {
  id: string;
  kind: 'nps' | 'ticket' | 'interview' | 'request' | 'cancellation';
  created_at: string;
  distinct_id: string | null;
  email: string | null;
  organization: string | null;
  score: number | null;
  title: string | null;
  body: string | null;
  tags: string[];
  status: string | null;
  closed_at: string | null;
}

const TICKETS: Array<[string, string]> = [
  ['Dashboard not loading', 'The main dashboard spins forever since this morning.'],
  ['How do I build a funnel by plan?', 'We want to break a funnel down by the customer plan property.'],
  ['SSO login fails', 'Our Okta login redirects back to the login page.'],
  ['Invoice address wrong', 'Please change the billing address on our invoices.'],
  ['Export to CSV times out', 'Exporting a large insight to CSV never finishes.'],
  ['Missing events from mobile', 'Events from our iOS app do not show up.'],
];
const INCIDENT_TICKETS: Array<[string, string]> = [
  ['Events delayed by hours', 'Events from today are not showing up; ingestion seems hours behind.'],
  ['Data missing since Tuesday', 'Our numbers dropped to zero; are events being ingested?'],
  ['Ingestion lag', 'Live events view is way behind, "real time" isn\'t real time <b>today</b>.'],
];
const REQUESTS: Record<string, string[]> = {
  sso: ['Please add SAML SSO', 'We need Okta SSO for security review', 'SSO is a blocker for our IT team'],
  slack: [
    'Send alerts to Slack',
    'Slack notifications for insights would be great',
    'Post weekly digests to a Slack channel',
  ],
  roles: ['Custom roles and permissions', 'Read-only members please', 'We need per-project access control'],
  warehouse: ['Export events to our warehouse', 'BigQuery sync', 'Snowflake export of raw events'],
  'dark-mode': ['Dark mode!', 'A dark theme for late-night debugging', 'Please support dark mode'],
};
const INTERVIEWS = [
  'Uses funnels weekly in the product review; wants cohorts shared with marketing.',
  'Onboarding took two sessions: connecting the data source was confusing.',
  'Team relies on session replay to debug checkout; pricing of the add-on questioned.',
  'Exec dashboard is the main entry point; would like scheduled e-mail reports.',
];
/** Cancellation reasons by theme, in varied wording as customers write them. */
export const CANCELLATION_REASONS: Record<string, string[]> = {
  price: [
    'Too expensive for a team our size',
    'Budget cuts, we cannot justify the cost any more',
    'The per-seat price went beyond what we can pay',
    'Pricing does not fit a small startup',
    'Cheaper alternatives do what we need',
    'Cost too high relative to how much we use it',
  ],
  'missing-features': [
    'Missing SSO, our security team said no',
    'No warehouse export',
    'We needed custom roles',
  ],
  competitor: ['Moved to a competitor bundled with our stack', 'Switched to another analytics vendor'],
  'shut-down': ['Company is shutting down', 'Project was discontinued'],
  'not-using': ['Nobody on the team logs in any more', 'We did not get value out of it'],
};

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function buildFeedback(world: World): { rows: FeedbackRow[]; cancellations: FeedbackRow[] } {
  const rows: FeedbackRow[] = [];
  const cancellations: FeedbackRow[] = [];
  const r = Random.derive(world.seed, 'feedback');
  const incident = Random.derive(world.seed, 'feedback', 'incident');
  let n = 0;
  const id = (prefix: string): string => `${prefix}_${String(++n).padStart(6, '0')}`;
  const lastMonth = monthOf(new Date(world.until - 1));
  for (let m = monthOf(new Date(world.start)); m <= lastMonth; m = addMonths(m, 1)) {
    const from = monthStart(m).getTime();
    const to = Math.min(monthEnd(m).getTime(), world.until);
    const mid = (from + to) / 2;
    const active = world.orgs.filter((o) => o.customerId !== null && orgFactor(o, mid) > 0);
    const share = (to - from) / (monthEnd(m).getTime() - from);
    const ticket = (rng: Random, org: (typeof active)[number], at: number): void => {
      const [title, body] =
        m === world.month && rng.chance(0.7) ? rng.pick(INCIDENT_TICKETS) : rng.pick(TICKETS);
      const p = rng.pick(org.people);
      const closed = at + rng.uniform(0.1, 12) * DAY;
      const open = closed >= world.until;
      rows.push({
        id: id('tkt'),
        kind: 'ticket',
        created_at: new Date(at).toISOString(),
        distinct_id: p.distinctId,
        email: p.email,
        organization: org.key,
        score: null,
        title,
        body,
        tags: ['support'],
        status: open ? 'open' : 'closed',
        closed_at: open ? null : isoOrNull(closed),
      });
    };
    for (const org of active) {
      const extra =
        org.key === world.topCustomerKey && mid >= monthStart(addMonths(world.month, -2)).getTime() ? 2 : 0;
      const count = r.poisson(0.3 * share) + (extra ? r.poisson(extra * share) : 0);
      for (let i = 0; i < count; i++) ticket(r, org, from + r.float() * (to - from));
      // The review month's incident adds (factor − 1) × the usual tickets, drawn from their own
      // stream: every other feedback item is the same whatever the incident's strength.
      if (m === world.month) {
        const more = incident.poisson(0.3 * (PLANT.ticketsAnomaly.factor - 1) * share);
        for (let i = 0; i < more; i++) ticket(incident, org, from + incident.float() * (to - from));
      }
    }
    const themes = Object.keys(REQUESTS);
    for (let i = r.poisson(8 * share); i > 0; i--) {
      const org = r.pick(active.length ? active : world.orgs);
      const theme = r.pick(themes);
      const p = r.pick(org.people);
      rows.push({
        id: id('req'),
        kind: 'request',
        created_at: new Date(from + r.float() * (to - from)).toISOString(),
        distinct_id: p.distinctId,
        email: p.email,
        organization: org.key,
        score: null,
        title: r.pick(REQUESTS[theme] ?? []),
        body: null,
        tags: [theme],
        status: 'new',
        closed_at: null,
      });
    }
    for (let i = r.poisson(3 * share); i > 0; i--) {
      const org = r.pick(active.length ? active : world.orgs);
      const p = r.pick(org.people);
      rows.push({
        id: id('int'),
        kind: 'interview',
        created_at: new Date(from + r.float() * (to - from)).toISOString(),
        distinct_id: p.distinctId,
        email: p.email,
        organization: org.key,
        score: null,
        title: `Interview with ${p.name}`,
        body: r.pick(INTERVIEWS),
        tags: ['interview'],
        status: null,
        closed_at: null,
      });
    }
    for (let i = r.poisson(15 * share); i > 0; i--) {
      const org = r.pick(active.length ? active : world.orgs);
      const p = r.pick(org.people);
      const score = r.weighted<number>([
        [10, 22],
        [9, 23],
        [8, 20],
        [7, 15],
        [6, 7],
        [5, 5],
        [4, 3],
        [3, 2],
        [2, 1],
        [1, 1],
        [0, 1],
      ]);
      rows.push({
        id: id('nps'),
        kind: 'nps',
        created_at: new Date(from + r.float() * (to - from)).toISOString(),
        distinct_id: p.distinctId,
        email: p.email,
        organization: org.key,
        score,
        title: null,
        body: score >= 9 ? 'Great product' : score <= 6 ? 'Needs work' : null,
        tags: ['email-survey'],
        status: null,
        closed_at: null,
      });
    }
  }
  for (const org of world.orgs) {
    for (const sub of org.subs) {
      if (!sub.cancellationTheme || sub.canceledAt === null || sub.canceledAt >= world.until) continue;
      const champion = org.people[0];
      cancellations.push({
        id: `cxl_${sub.id.slice(4)}`,
        kind: 'cancellation',
        created_at: new Date(sub.canceledAt + 60_000).toISOString(),
        distinct_id: champion?.distinctId ?? null,
        email: champion?.email ?? null,
        organization: org.key,
        score: null,
        title: 'Cancellation survey',
        body: r.pick(CANCELLATION_REASONS[sub.cancellationTheme] ?? ['']),
        // The reason picked from the survey's list (as Stripe's cancellation feedback has), beside
        // the free text: themes come from this tag, the text is quoted.
        tags: [sub.cancellationTheme],
        status: null,
        closed_at: null,
      });
    }
  }
  rows.sort((a, b) => compareText(a.created_at, b.created_at) || compareText(a.id, b.id));
  cancellations.sort((a, b) => compareText(a.created_at, b.created_at) || compareText(a.id, b.id));
  return { rows, cancellations };
}

const COLUMNS = [
  'id',
  'kind',
  'created_at',
  'distinct_id',
  'email',
  'organization',
  'score',
  'title',
  'body',
  'tags',
  'status',
  'closed_at',
] as const;

function csvCell(v: string | number | string[] | null): string {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? v.join(';') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** CSV with a header; `tags` joined with `;`. */
export function feedbackCsv(rows: readonly FeedbackRow[]): string {
  const lines = [COLUMNS.join(',')];
  for (const row of rows) lines.push(COLUMNS.map((c) => csvCell(row[c])).join(','));
  return lines.join('\n') + '\n';
}

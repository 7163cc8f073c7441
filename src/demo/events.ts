/**
 * PostHog-format events of the demo company (SPEC §3.1), streamed per organization and person.
 * `expectedEvents` walks the same days without drawing, so the activity rate can be scaled to meet
 * an `--events` target within a few percent before a single event is written.
 */
import { ACTIONS, COMPANY, EV, FLAGS, MARKETING_PATHS, NPS_SURVEY_ID } from './catalog.js';
import { DAY, PLANT, orgFactor, type Org, type Person, type World } from './company.js';
import type { GzipLines } from './gzip-lines.js';
import { expectedFlagCalls, FLAG_CALLED, PersonLaunches } from './launches.js';
import { Random } from './random.js';

/** Base product actions per active day at scale 1. */
const BASE_ACTIONS = 5;
const DUPLICATE_RATE = 0.0005;
const OFFSET_RATE = 0.01;
const SURVEY_RATE = 0.07;

/** Probability that a person who is active at `day` uses the product that day. */
function dayChance(p: Person, day: number): number {
  if (day - p.signupAt < 7 * DAY) return 0.8;
  const wd = new Date(day).getUTCDay();
  return wd === 0 || wd === 6 ? 0.1 : 0.62;
}

export function personActive(org: Org, p: Person, t: number): boolean {
  if (t < p.signupAt) return false;
  const f = orgFactor(org, t);
  if (f <= 0 || (p.u > 0 && p.u >= f)) return false;
  if (p.retained) return true;
  if (t < p.dormantAt) return true;
  return p.resurrect !== null && t >= p.resurrect.from && t < p.resurrect.to;
}

/** A person joins only while their organization is in use and not shedding them (see orgFactor). */
export function joins(world: World, org: Org, p: Person): boolean {
  return p.signupAt < world.until && personActive(org, p, p.signupAt);
}

function dayStart(t: number): number {
  return Math.floor(t / DAY) * DAY;
}

/** The expected number of events at action scale `k` is `fixed + perScale·k`. */
export function expectedEvents(world: World): { fixed: number; perScale: number } {
  let fixed = 0;
  let perScale = 0;
  for (const org of world.orgs) {
    fixed += groupIdentifyTimes(org, world).length;
    for (const p of org.people) {
      if (!joins(world, org, p)) continue;
      fixed += (p.champion ? 2.5 : 1) + 2 + (p.onboarding.length - 1);
      fixed += p.inviter ? 4.5 : 0.5;
      if (p.secondDevice !== null && p.secondDevice < world.until && personActive(org, p, p.secondDevice))
        fixed += 2;
      let lastMonth = -1;
      for (let d = dayStart(p.signupAt); d < world.until; d += DAY) {
        if (!personActive(org, p, d + DAY / 2)) continue;
        const c = dayChance(p, d);
        const m = new Date(d).getUTCMonth();
        if (m !== lastMonth) {
          lastMonth = m;
          fixed += SURVEY_RATE;
        }
        fixed += c * (1 + (d >= world.flagRolloutAt ? 1 : 0) + expectedFlagCalls(world, d));
        perScale += c * BASE_ACTIONS * p.rate;
      }
    }
  }
  return { fixed: fixed * (1 + DUPLICATE_RATE), perScale: perScale * (1 + DUPLICATE_RATE) };
}

/** When the org's properties are (re)sent: creation, each paid start, each end. */
function groupIdentifyTimes(org: Org, world: World): Array<{ at: number; plan: string }> {
  const out = [{ at: org.createdAt, plan: 'free' }];
  for (const s of org.subs) {
    if (s.trialStart !== null) out.push({ at: s.trialStart, plan: 'trial' });
    if (s.converted)
      out.push({ at: s.paidStart, plan: (s.items[0]?.price.nickname ?? 'free').toLowerCase() });
    if (s.endedAt !== null) out.push({ at: s.endedAt, plan: 'free' });
  }
  return out.filter((x) => x.at < world.until).sort((a, b) => a.at - b.at);
}

function iso(ms: number, tzHours: number | null): string {
  if (tzHours === null) return new Date(ms).toISOString();
  const local = new Date(ms + tzHours * 3_600_000).toISOString().slice(0, 23);
  const sign = tzHours < 0 ? '-' : '+';
  const abs = Math.abs(tzHours);
  const hh = String(Math.floor(abs)).padStart(2, '0');
  const mm = String(Math.round((abs % 1) * 60)).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

const NPS_COMMENTS = {
  high: [
    'Love the dashboards',
    'Funnels are great',
    'Saves our team hours every week',
    'Best analytics tool we have used',
    '',
  ],
  mid: ['Good, but the query editor is slow', 'Useful, a bit pricey', 'Docs could be better', ''],
  low: [
    'Data is often delayed',
    'Too many bugs lately',
    'We barely use it any more',
    'Hard to get value out of it',
    'Support is slow to answer',
  ],
};

function npsScore(r: Random, unhappy: boolean): number {
  if (unhappy) return r.int(PLANT.topCustomer.npsFrom, PLANT.topCustomer.npsTo);
  return r.weighted<number>([
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
}

/** Writes every event of the company; returns how many lines were written. */
export async function writeEvents(
  world: World,
  scale: number,
  out: GzipLines,
  onOrg?: (i: number) => void,
): Promise<void> {
  const collapseFrom = world.topCustomerKey
    ? Math.min(
        ...(world.orgs.find((o) => o.key === world.topCustomerKey)?.declines.map((d) => d.from) ?? [
          Infinity,
        ]),
      )
    : Infinity;
  for (const org of world.orgs) {
    const r = Random.derive(world.seed, 'events', org.index);
    // `at`: the event's timestamp. Data ends where the world does (`world.until`, the start of the
    // `--until` day): later events (an invite days after a late signup, an evening session west of
    // UTC) would be in the future for the importer. They are still drawn, so the random streams —
    // and every earlier event — stay the same.
    const emit = (line: string | Record<string, unknown>, at: number): Promise<void> | undefined => {
      const twice = r.chance(DUPLICATE_RATE);
      if (at >= world.until) return undefined;
      const s = typeof line === 'string' ? line : JSON.stringify(line);
      const w = out.write(s);
      if (twice) return Promise.resolve(w).then(() => out.write(s));
      return w;
    };
    const groups = { organization: org.key };
    const champion = org.people[0];
    for (const g of groupIdentifyTimes(org, world)) {
      await emit(
        {
          uuid: r.uuid7(g.at),
          event: '$groupidentify',
          distinct_id: champion?.distinctId ?? org.key,
          timestamp: iso(g.at, null),
          properties: {
            $group_type: 'organization',
            $group_key: org.key,
            $group_set: {
              name: org.name,
              employees: org.employees,
              industry: org.industry,
              country: org.country,
              plan: g.plan,
              email_domain: org.domain,
            },
            $lib: 'posthog-node',
          },
        },
        g.at,
      );
    }
    for (const p of org.people) {
      if (!joins(world, org, p)) continue;
      await writePerson(
        world,
        org,
        p,
        scale,
        groups,
        emit,
        org.key === world.topCustomerKey ? collapseFrom : Infinity,
        (line, at) => (at < world.until ? out.write(line) : undefined),
      );
    }
    onOrg?.(org.index);
  }
}

async function writePerson(
  world: World,
  org: Org,
  p: Person,
  scale: number,
  groups: { organization: string },
  emit: (line: string | Record<string, unknown>, at: number) => Promise<void> | undefined,
  unhappyFrom: number,
  write: (line: string, at: number) => Promise<void> | undefined,
): Promise<void> {
  const r = Random.derive(world.seed, 'person', org.index, p.index);
  // The planted launches draw from their own stream and write without the duplicate draw, so every
  // other event is the same with or without them (src/demo/launches.ts).
  const launches = new PersonLaunches(world, org, p);
  // Events are spelled as JSON text from fixed fragments: building and stringifying an object per
  // event was most of the generator's time. Every fragment is JSON-encoded where it is made.
  const base = `"$browser":${JSON.stringify(p.browser)},"$os":${JSON.stringify(p.os)},"$lib":"web","$lib_version":"1.200.0"`;
  const tail = `"$groups":{"organization":${JSON.stringify(groups.organization)}}}}`;
  const flagOn = `"$feature/${FLAGS.newInsightsUi}":${p.flagged},`;
  const who = JSON.stringify(p.distinctId);
  const ev = (
    event: string,
    t: number,
    props: string | Record<string, unknown>,
  ): Promise<void> | undefined => {
    const ts = t + p.skewMs;
    const inner = typeof props === 'string' ? props : JSON.stringify(props).slice(1, -1);
    const line =
      `{"uuid":"${r.uuid7(ts)}","event":${eventJson(event)},"distinct_id":${who},` +
      `"timestamp":"${iso(ts, r.chance(OFFSET_RATE) ? org.tzHours : null)}","properties":{${base},` +
      (inner ? inner + ',' : '') +
      (t >= world.flagRolloutAt ? flagOn : '') +
      tail;
    return emit(line, Math.max(t, ts));
  };
  const launchEvent = (event: string, t: number, inner: string): Promise<void> | undefined => {
    const ts = t + p.skewMs;
    return write(
      `{"uuid":"${launches.random.uuid7(ts)}","event":${eventJson(event)},"distinct_id":${who},` +
        `"timestamp":"${iso(ts, null)}","properties":{${base},${inner},` +
        (t >= world.flagRolloutAt ? flagOn : '') +
        tail,
      Math.max(t, ts),
    );
  };

  // Anonymous visits before signing up, then $identify merging the anonymous id.
  const visits = p.champion ? r.int(1, 4) : 1;
  for (let v = visits; v >= 1; v--) {
    const t =
      p.signupAt - (p.champion ? r.uniform(0.01, 10) * DAY * (v / visits) : r.uniform(1, 10) * 60_000);
    const path = p.champion ? r.pick(MARKETING_PATHS) : '/invite/accept';
    await emit(
      {
        uuid: r.uuid7(t),
        event: '$pageview',
        distinct_id: p.anonId,
        timestamp: iso(t, null),
        properties: {
          $browser: p.browser,
          $os: p.os,
          $lib: 'web',
          $current_url: COMPANY.site + path,
          $pathname: path,
          $referrer: p.referrer,
        },
      },
      t,
    );
  }
  await ev('$identify', p.signupAt, {
    $anon_distinct_id: p.anonId,
    $set: { email: p.email, name: p.name, role: p.role },
    $set_once: {
      $initial_referrer: p.referrer,
      initial_utm_source: p.referrer === '$direct' ? null : 'organic',
    },
  });
  const steps = [
    EV.signedUp,
    EV.projectCreated,
    EV.dataSourceConnected,
    EV.firstInsightCreated,
    EV.dashboardCreated,
  ];
  for (let s = 0; s < p.onboarding.length; s++) {
    await ev(steps[s] ?? EV.signedUp, (p.onboarding[s] ?? p.signupAt) + 500, {
      $current_url: `${COMPANY.app}/onboarding/${s + 1}`,
    });
  }
  // Invites in the first week: inviters send 3–6, others 0–2 (the planted leading indicator).
  const invites = p.inviter
    ? r.int(3, 6)
    : r.weighted<number>([
        [0, 60],
        [1, 30],
        [2, 10],
      ]);
  for (let i = 0; i < invites; i++) {
    const t = p.signupAt + r.uniform(0.02, PLANT.invites.windowDays - 0.2) * DAY;
    await ev(EV.inviteSent, t, `"invitee_role":"${r.pick(INVITEE_ROLES)}"`);
  }
  if (p.secondDevice !== null && p.secondDevice < world.until && personActive(org, p, p.secondDevice)) {
    const anon = r.uuid7(p.secondDevice);
    await emit(
      {
        uuid: r.uuid7(p.secondDevice),
        event: '$pageview',
        distinct_id: anon,
        timestamp: iso(p.secondDevice, null),
        properties: {
          $browser: 'Mobile Safari',
          $os: 'iOS',
          $lib: 'web',
          $current_url: COMPANY.app + '/login',
        },
      },
      p.secondDevice,
    );
    await ev('$identify', p.secondDevice + 20_000, { $anon_distinct_id: anon });
  }

  const actions = ACTIONS.filter((a) => org.features.has(a.feature));
  const weighted = actions.map((a) => [a.event, a.weight] as const);
  const lambda = BASE_ACTIONS * p.rate * scale;
  let lastMonth = -1;
  for (let d = dayStart(p.signupAt); d < world.until; d += DAY) {
    if (!personActive(org, p, d + DAY / 2)) continue;
    const month = new Date(d).getUTCMonth();
    const firstOfMonth = month !== lastMonth;
    lastMonth = month;
    const survey = firstOfMonth && r.chance(SURVEY_RATE);
    if (!r.chance(dayChance(p, d))) {
      if (!survey) continue;
    }
    const localHour = Math.min(20, Math.max(7, r.normal(11, 2.5)));
    let t = d + (localHour - org.tzHours) * 3_600_000;
    if (t < p.signupAt) t = p.signupAt + 3_600_000;
    const session = r.uuid7(t);
    const n = r.poisson(lambda);
    const gap = 90_000 * Math.min(1, 50 / Math.max(1, n));
    const sid = `"$session_id":"${session}"`;
    await ev('$pageview', t, `"$current_url":"${COMPANY.app}/home","$pathname":"/home",${sid}`);
    if (d >= world.flagRolloutAt) {
      await ev(
        '$feature_flag_called',
        t + 800,
        `"$feature_flag":"${FLAGS.newInsightsUi}","$feature_flag_response":${p.flagged},${sid}`,
      );
    }
    for (const [i, call] of launches.flagCalls(t).entries()) {
      await launchEvent(FLAG_CALLED, t + 900 + i, `${call},${sid}`);
    }
    if (survey) {
      const score = npsScore(r, t >= unhappyFrom);
      const comments = score >= 9 ? NPS_COMMENTS.high : score >= 7 ? NPS_COMMENTS.mid : NPS_COMMENTS.low;
      const comment = r.pick(comments);
      await ev('survey sent', t + 5_000, {
        $survey_id: NPS_SURVEY_ID,
        $survey_name: 'NPS',
        $survey_response: score,
        ...(comment ? { $survey_response_1: comment } : {}),
        $session_id: session,
      });
    }
    for (let i = 0; i < n; i++) {
      t += 1_000 + r.float() * 2 * gap;
      let event = r.weighted(weighted);
      // Invites in the first week are planted above; the daily mix adds none then.
      if (event === EV.inviteSent && t < p.signupAt + PLANT.invites.windowDays * DAY)
        event = EV.insightViewed;
      await ev(event, t, actionProps(r, event, sid));
      for (let k = launches.extra(event, t); k > 0; k--) {
        await launchEvent(event, t + 200 + k, actionProps(launches.random, event, sid));
      }
    }
  }
}

const INVITEE_ROLES = ['engineer', 'designer', 'product manager'];
const INSIGHT_TYPES = ['trends', 'funnels', 'retention', 'paths', 'lifecycle'];
const EVENT_JSON = new Map<string, string>();

function eventJson(event: string): string {
  let j = EVENT_JSON.get(event);
  if (j === undefined) {
    j = JSON.stringify(event);
    EVENT_JSON.set(event, j);
  }
  return j;
}

/** An action's own properties as JSON members (without braces), ending with the session id. */
function actionProps(r: Random, event: string, sid: string): string {
  switch (event) {
    case EV.insightCreated:
    case EV.insightViewed:
      return `"insight_type":"${r.pick(INSIGHT_TYPES)}",${sid}`;
    case EV.queryRun:
      return `"duration_ms":${r.int(40, 4000)},${sid}`;
    case EV.recordingViewed:
      return `"recording_duration_s":${r.int(20, 1800)},${sid}`;
    case EV.inviteSent:
      return `"invitee_role":"${r.pick(INVITEE_ROLES)}",${sid}`;
    default:
      return sid;
  }
}

/**
 * Deep dive `onboarding-funnel`: where do new users struggle? (docs/analyses.md#onboarding-funnel)
 *
 * - New users of month m: persons whose first activity event of the product (metrics/scope.ts)
 *   falls in m, and whose whole conversion window has been observed: first activity at least
 *   `onboarding.windowDays` before the store's last event (later ones are counted as censored and
 *   left out, so a review run a few days after the month ends does not read a cut-short window as
 *   a drop). A month that starts within WARMUP_DAYS of the data's first event is not used: there,
 *   everyone looks new.
 * - Steps: `onboarding.steps`, or, when none are configured, INFERRED from the new users of the
 *   review and trailing months pooled: every feature event (feature-events.ts; `$`-prefixed
 *   autocapture such as `$pageview` is left out as noise) done within the window after the first
 *   activity, kept when at least MIN_INFERRED_SHARE of new users did it. Onboarding steps are
 *   one-time milestones (signed up, project created), unlike the everyday actions every active
 *   user repeats, so the candidates done about once (on average ≤ MILESTONE_MAX_MEAN times in the
 *   window by those who did them) are preferred; with fewer than two such, the most common
 *   events are used instead. The MAX_INFERRED_STEPS most common of them, ordered by the median
 *   time of their first occurrence after the first activity.
 * - Funnel: the ordered funnel of insights/funnel.ts (PostHog semantics, conversion window =
 *   `windowDays` from the first step), restricted to each cohort of new users (FunnelOptions).
 *   Per step: count, conversion from the previous and from the first step with a 95% Wilson
 *   interval, median and p90 seconds from the previous step.
 * - biggestDrop: the step with the lowest conversionFromPrevious among steps whose previous step
 *   holds at least MIN_STEP_BASE people (a smaller base says nothing); ties go to the earlier
 *   step (people lost there never reach the later one). `clearlyLowest` says whether its Wilson
 *   interval lies wholly below every other candidate's.
 * - Did it change this month? Per step, the review month's conversion from the previous step
 *   against the TRAILING_MONTHS before it pooled: Fisher's exact test when an expected count is
 *   below 5, else the two-proportion z-test (stats `compareProportions`), Benjamini–Hochberg
 *   across the steps tested (both bases ≥ MIN_STEP_BASE).
 * - By ICP: the review month's new users by the ICP class of their organization (the first one
 *   their events name; analyses/icp.ts), ICP against non-ICP per step, tested the same way.
 * - Did instead: those who reached the step before the biggest drop but not it, against those who
 *   went on: the share of each group that did each feature event (steps and `$` noise left out)
 *   after reaching that previous step and within the window; lift = dropped share ÷ converted
 *   share, tested per event as above with Benjamini–Hochberg.
 *
 * Not enough data: fewer than MIN_NEW_USERS observed new users in the review month, or no steps.
 */
import { addMonths, monthEnd, monthStart, type Month } from '../../domain/month.js';
import type { DeepDive, Finding } from '../../domain/review.js';
import { createHash } from 'node:crypto';
import { buildFunnelPersonsQuery, funnelOfPersons, type FunnelStepResult } from '../../insights/funnel.js';
import { sqlMatchesAny } from '../../metrics/scope.js';
import { join, raw, sql, type Sql } from '../../store/sql.js';
import { sharedRelation } from '../../store/build-scope.js';
import { describeIcpRule, hasIcpRule, sqlIcpRule } from '../icp.js';
import { benjaminiHochberg, compareProportions, wilsonInterval, type Interval } from '../stats/index.js';
import { sqlFeatureEvent } from './feature-events.js';
import { formatP } from './text.js';
import { timedQuery } from './timed.js';
import type { DeepDiveContext, DeepDiveRunner } from './types.js';
import { compareText } from '../../domain/order.js';
import { eventsWithPersons } from '../../store/events.js';
import { activityDaysIfMade } from '../../metrics/activity-days.js';

export const TRAILING_MONTHS = 6;
export const WARMUP_DAYS = 14;
export const MIN_NEW_USERS = 30;
export const MIN_STEP_BASE = 10;
export const MAX_INFERRED_STEPS = 5;
export const MIN_INFERRED_SHARE = 0.1;
/** An event done at most this many times on average by a new user who did it is a milestone. */
export const MILESTONE_MAX_MEAN = 1.5;
export const SIGNIFICANCE = 0.05;
/** Autocaptured PostHog events: everyone fires them, they mark no onboarding milestone. */
export const NOISE_EVENTS: readonly string[] = ['$*'];
const MAX_DID_INSTEAD = 8;
const DAY_MS = 86_400_000;

const ID = 'onboarding-funnel';
const QUESTION = 'Where do new users struggle?';

export interface OnboardingStep {
  name: string;
  count: number;
  conversionFromPrevious: number | null;
  conversionFromFirst: number | null;
  /** 95% Wilson interval of conversionFromPrevious (null for the first step or an empty base). */
  conversionInterval: Interval | null;
  medianSecondsFromPrevious: number | null;
  p90SecondsFromPrevious: number | null;
}

export interface StepComparison {
  step: string;
  /** Conversion from the previous step in group A (this month / ICP) and B (trailing / non-ICP). */
  conversionA: number;
  conversionB: number;
  baseA: number;
  baseB: number;
  difference: number;
  pValue: number;
  qValue: number;
  test: string;
  significant: boolean;
}

export interface DidInstead {
  event: string;
  /** Share of those who dropped at the biggest-drop step that did it (after the previous step, in the window). */
  droppedShare: number;
  convertedShare: number;
  /** droppedShare ÷ convertedShare; null when no converter did it. */
  lift: number | null;
  droppedUsers: number;
  convertedUsers: number;
  pValue: number | null;
  qValue: number | null;
  test: string | null;
}

export interface BiggestDrop {
  step: string | null;
  index: number | null;
  reason: string;
  clearlyLowest: boolean;
}

export interface CohortMonth {
  month: Month;
  newUsers: number;
  observedNewUsers: number;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);

/** A duration for text: `45 s`, `12 min`, `3.5 h`, `2.1 days`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return 'n/a';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 2 * 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

// ---- cohorts -----------------------------------------------------------------------------------

/**
 * Each person's first activity event of the product, from the activity days (the table the
 * review build made for the usage metrics, metrics/activity-days.ts; else the subquery).
 */
function sqlFirsts(ctx: DeepDiveContext): Sql {
  return sql`SELECT person_id, min(first_ts) AS f FROM ${activityDaysIfMade(ctx)} GROUP BY person_id`;
}

/** `person_id, value` of the new users first active in [from, to), value their month (`YYYY-MM`). */
function sqlCohort(ctx: DeepDiveContext, from: Date, to: Date): Sql {
  const d = ctx.engine.dialect;
  const inRange = sql`f >= ${d.sqlTimestamp(sql`${from.toISOString()}`)} AND f < ${d.sqlTimestamp(sql`${to.toISOString()}`)}`;
  return sql`SELECT person_id, ${d.sqlMonthKey(raw('f'))} AS value FROM (${sqlFirsts(ctx)}) fa WHERE ${inRange}`;
}

/** Per month from `from` to the review month's end: new users, and those first active before `observedUntil`. */
export function buildCohortMonthsQuery(ctx: DeepDiveContext, from: Date, observedUntil: Date): Sql {
  const d = ctx.engine.dialect;
  return sql`
    SELECT ${d.sqlMonthKey(raw('f'))} AS month, count(*) AS users,
      sum(CASE WHEN f < ${d.sqlTimestamp(sql`${observedUntil.toISOString()}`)} THEN 1 ELSE 0 END) AS observed
    FROM (${sqlFirsts(ctx)}) fa
    WHERE f >= ${d.sqlTimestamp(sql`${from.toISOString()}`)} AND f < ${d.sqlTimestamp(sql`${monthEnd(ctx.month).toISOString()}`)}
    GROUP BY 1`;
}

/** Query: the size of each month's cohort of new users (all, and with a whole window observed). */
export async function queryCohortMonths(
  ctx: DeepDiveContext,
  from: Date,
  observedUntil: Date,
): Promise<Map<Month, CohortMonth>> {
  const rows = await ctx.engine.query<{ month: string; users: number; observed: number }>(
    buildCohortMonthsQuery(ctx, from, observedUntil),
  );
  return new Map(
    rows.map((r) => [
      r.month,
      { month: r.month, newUsers: Number(r.users), observedNewUsers: Number(r.observed) },
    ]),
  );
}

/** The store's first and last event, in epoch seconds; null when it holds none. */
export interface DataBounds {
  first: number | null;
  last: number | null;
}

/** Query: the first and last event of the store (any event). */
export async function queryDataBounds(ctx: DeepDiveContext): Promise<DataBounds> {
  const d = ctx.engine.dialect;
  const bounds = await ctx.engine.query<{ first: number | null; last: number | null }>(
    sql`SELECT ${d.sqlEpochSeconds(raw('min(timestamp)'))} AS first, ${d.sqlEpochSeconds(raw('max(timestamp)'))} AS last FROM events`,
  );
  const first = bounds[0]?.first;
  const last = bounds[0]?.last;
  return {
    first: first === null || first === undefined ? null : Number(first),
    last: last === null || last === undefined ? null : Number(last),
  };
}

// ---- steps -------------------------------------------------------------------------------------

export interface InferredCandidate {
  event: string;
  users: number;
  share: number;
  /** Mean times a new user who did it did it within the window: about 1 for a milestone. */
  meanPerUser: number;
  milestone: boolean;
  medianSecondsToFirst: number;
}

/** Per feature event done by the cohort within the window: who did it, how often, how soon. */
export interface InferenceCounts {
  /** New users first active in the range. */
  cohort: number;
  events: { event: string; users: number; meanPerUser: number; medianSecondsToFirst: number }[];
}

/** The inferred steps (see the file comment). */
export interface InferredSteps {
  steps: string[];
  candidates: InferredCandidate[];
  cohort: number;
  rule: 'milestones' | 'most-common';
}

export function buildInferenceQuery(ctx: DeepDiveContext, from: Date, to: Date): Sql {
  const d = ctx.engine.dialect;
  const W = ctx.config.onboarding.windowDays;
  return sql`
    WITH cohort AS (
      SELECT person_id, f FROM (${sqlFirsts(ctx)}) fa
      WHERE f >= ${d.sqlTimestamp(sql`${from.toISOString()}`)} AND f < ${d.sqlTimestamp(sql`${to.toISOString()}`)}
    ),
    firsts AS (
      SELECT c.person_id, e.event, count(*) AS n,
        ${d.sqlEpochSeconds(raw('min(e.timestamp)'))} - ${d.sqlEpochSeconds(raw('min(c.f)'))} AS offset_s
      FROM cohort c JOIN ${eventsWithPersons('e')} ON e.person_id = c.person_id
        AND e.timestamp >= c.f AND e.timestamp < ${d.sqlDateAdd('day', sql`${W}`, raw('c.f'))}
      WHERE ${sqlFeatureEvent(d, ctx.config, ctx.product, raw('e.event'))}
        AND NOT (${sqlMatchesAny(d, raw('e.event'), NOISE_EVENTS)})
      GROUP BY c.person_id, e.event
    )
    SELECT event, count(*) AS users, avg(n) AS mean_n, ${d.sqlMedian(raw('offset_s'))} AS med FROM firsts GROUP BY event
    UNION ALL
    SELECT NULL AS event, count(*) AS users, NULL AS mean_n, NULL AS med FROM cohort`;
}

/** Query: for the new users first active in [from, to), each feature event they did in the window. */
export async function queryInferenceCounts(
  ctx: DeepDiveContext,
  from: Date,
  to: Date,
): Promise<InferenceCounts> {
  const rows = await ctx.engine.query<{
    event: string | null;
    users: number;
    mean_n: number | null;
    med: number | null;
  }>(buildInferenceQuery(ctx, from, to));
  return {
    cohort: Number(rows.find((r) => r.event === null)?.users ?? 0),
    events: rows
      .filter((r): r is typeof r & { event: string } => r.event !== null)
      .map((r) => ({
        event: r.event,
        users: Number(r.users),
        meanPerUser: Number(r.mean_n ?? 0),
        medianSecondsToFirst: Number(r.med ?? 0),
      })),
  };
}

/** Pure: the steps inferred from the counts (see the file comment). */
export function inferSteps(counts: InferenceCounts): InferredSteps {
  const cohort = counts.cohort;
  const common = counts.events
    .map((r) => ({
      event: r.event,
      users: r.users,
      share: cohort > 0 ? r.users / cohort : 0,
      meanPerUser: r.meanPerUser,
      milestone: r.meanPerUser <= MILESTONE_MAX_MEAN,
      medianSecondsToFirst: r.medianSecondsToFirst,
    }))
    .filter((c) => c.share >= MIN_INFERRED_SHARE)
    .sort((a, b) => b.users - a.users || compareText(a.event, b.event));
  const milestones = common.filter((c) => c.milestone);
  const rule = milestones.length >= 2 ? 'milestones' : 'most-common';
  const picked = (rule === 'milestones' ? milestones : common)
    .slice(0, MAX_INFERRED_STEPS)
    .sort(
      (a, b) =>
        a.medianSecondsToFirst - b.medianSecondsToFirst || b.users - a.users || compareText(a.event, b.event),
    );
  return { steps: picked.map((c) => c.event), candidates: common, cohort, rule };
}

// ---- per-step results --------------------------------------------------------------------------

function onboardingSteps(
  names: readonly string[],
  steps: readonly FunnelStepResult[] | undefined,
): OnboardingStep[] {
  return names.map((name, k) => {
    const s = steps?.[k];
    const count = s?.count ?? 0;
    const base = k === 0 ? count : (steps?.[k - 1]?.count ?? 0);
    const w = k > 0 && base > 0 ? wilsonInterval(count, base) : null;
    return {
      name,
      count,
      conversionFromPrevious: s?.conversionFromPrevious ?? null,
      conversionFromFirst: s?.conversionFromFirst ?? null,
      conversionInterval: w && !w.notEnoughData ? w.interval : null,
      medianSecondsFromPrevious: s?.medianSecondsFromPrevious ?? null,
      p90SecondsFromPrevious: s?.p90SecondsFromPrevious ?? null,
    };
  });
}

/** The step with the lowest conversion from the previous one (see the file comment). */
export function findBiggestDrop(steps: readonly OnboardingStep[]): BiggestDrop {
  const candidates = steps
    .map((s, k) => ({ s, k, base: k > 0 ? (steps[k - 1]?.count ?? 0) : 0 }))
    .filter((c) => c.k > 0 && c.base >= MIN_STEP_BASE && c.s.conversionFromPrevious !== null);
  const small = steps.length - 1 - candidates.length;
  const skipped =
    small > 0 ? ` ${small} step(s) not judged: fewer than ${MIN_STEP_BASE} people at the step before.` : '';
  if (candidates.length === 0) {
    return {
      step: null,
      index: null,
      clearlyLowest: false,
      reason: `No step has at least ${MIN_STEP_BASE} people at the step before it, so no drop can be judged.`,
    };
  }
  const conv = (c: (typeof candidates)[number]): number => c.s.conversionFromPrevious as number;
  const lowest = Math.min(...candidates.map(conv));
  const tied = candidates.filter((c) => Math.abs(conv(c) - lowest) < 1e-12);
  const best = tied[0] as (typeof candidates)[number];
  const others = candidates.filter((c) => c !== best);
  const clearlyLowest =
    others.length > 0 &&
    best.s.conversionInterval !== null &&
    others.every(
      (c) => c.s.conversionInterval !== null && best.s.conversionInterval!.high < c.s.conversionInterval.low,
    );
  let reason = `Lowest conversion from the previous step (${pct(lowest)} of ${best.base}) among ${candidates.length} step(s) judged.`;
  if (tied.length > 1) {
    reason += ` Tied with ${tied
      .slice(1)
      .map((c) => `"${c.s.name}"`)
      .join(', ')}; the earlier step is named, since people lost there never reach the later one.`;
  } else if (!clearlyLowest && others.length > 0) {
    reason += ' Its 95% Wilson interval overlaps another step’s, so the ranking is not certain.';
  }
  return { step: best.s.name, index: best.k, clearlyLowest, reason: reason + skipped };
}

/** Per step k ≥ 1: group A's conversion from step k−1 against group B's, BH across steps tested. */
export function compareSteps(
  names: readonly string[],
  a: readonly { count: number }[],
  b: readonly { count: number }[],
): StepComparison[] {
  const tested: Omit<StepComparison, 'qValue' | 'significant'>[] = [];
  for (let k = 1; k < names.length; k++) {
    const baseA = a[k - 1]?.count ?? 0;
    const baseB = b[k - 1]?.count ?? 0;
    if (baseA < MIN_STEP_BASE || baseB < MIN_STEP_BASE) continue;
    const r = compareProportions({
      successesA: a[k]?.count ?? 0,
      totalA: baseA,
      successesB: b[k]?.count ?? 0,
      totalB: baseB,
    });
    if (r.notEnoughData) continue;
    tested.push({
      step: names[k] as string,
      conversionA: r.proportionA,
      conversionB: r.proportionB,
      baseA,
      baseB,
      difference: r.difference,
      pValue: r.pValue,
      test: r.test,
    });
  }
  const q = benjaminiHochberg(tested.map((t) => t.pValue));
  return tested.map((t, i) => ({
    ...t,
    qValue: q[i] as number,
    significant: (q[i] as number) < SIGNIFICANCE,
  }));
}

// ---- what those who dropped did instead ------------------------------------------------------

/** The funnel the dive runs: steps, the range (with the window after it) and the window. */
export interface OnboardingFunnelSpec {
  dateFrom: string;
  dateTo: string;
  steps: string[];
  windowSeconds: number;
}

/** Who dropped at step `b` and who went on, and each feature event each group did after step b−1. */
export interface DidInsteadCounts {
  events: { event: string; dropped: number; converted: number }[];
  dropped: number;
  converted: number;
  droppedWithAnyEvent: number;
}

/**
 * `persons` (`sqlFunnelPersons`'s columns, a relation to read in FROM): those who reached step
 * b−1, and each feature event (not a step, not `$` noise) they did after it and within the window.
 * The events are narrowed to those people first (a semi-join on the few of them), then joined.
 */
export function buildDidInsteadQuery(
  ctx: DeepDiveContext,
  funnelSpec: OnboardingFunnelSpec,
  persons: Sql,
  b: number,
): Sql {
  const d = ctx.engine.dialect;
  const ts = d.sqlEpochSeconds(raw('e.timestamp'));
  return sql`
    WITH ${d.sqlMaterialized('per', sql`SELECT * FROM ${persons} WHERE reached >= ${b}`)},
    acts AS (
      SELECT DISTINCT p.person_id AS person_id, e.event AS event, CASE WHEN p.reached = ${b} THEN 1 ELSE 0 END AS dropped
      FROM (
        SELECT e.person_id AS person_id, e.event AS event, e.timestamp AS timestamp FROM ${eventsWithPersons('e')}
        WHERE e.timestamp >= ${d.sqlTimestamp(sql`${funnelSpec.dateFrom}`)} AND e.timestamp <= ${d.sqlTimestamp(sql`${funnelSpec.dateTo}`)}
          AND ${sqlFeatureEvent(d, ctx.config, ctx.product, raw('e.event'))}
          AND NOT (${sqlMatchesAny(d, raw('e.event'), [...NOISE_EVENTS, ...funnelSpec.steps])})
          AND e.person_id IN (SELECT person_id FROM per)
      ) e
      JOIN per p ON p.person_id = e.person_id
      WHERE ${ts} > p.${raw(`t${b - 1}`)} AND ${ts} <= p.t0 + ${funnelSpec.windowSeconds}
    )
    -- converted is a BIGINT in every branch: ClickHouse has no common type for a count (unsigned)
    -- and a difference of counts (signed).
    SELECT 'event' AS kind, event, sum(dropped) AS dropped, count(*) - sum(dropped) AS converted FROM acts GROUP BY event
    UNION ALL
    SELECT 'total' AS kind, NULL AS event, sum(CASE WHEN reached = ${b} THEN 1 ELSE 0 END) AS dropped,
      CAST(sum(CASE WHEN reached > ${b} THEN 1 ELSE 0 END) AS BIGINT) AS converted FROM per
    UNION ALL
    SELECT 'any' AS kind, NULL AS event, count(DISTINCT CASE WHEN dropped = 1 THEN person_id END) AS dropped,
      CAST(count(DISTINCT CASE WHEN dropped = 0 THEN person_id END) AS BIGINT) AS converted FROM acts`;
}

/** Query: what the people of `persons` who reached step b−1 did next, split by whether they reached step b. */
export async function queryDidInstead(
  ctx: DeepDiveContext,
  funnelSpec: OnboardingFunnelSpec,
  persons: Sql,
  b: number,
): Promise<DidInsteadCounts> {
  const rows = await ctx.engine.query<{
    kind: string;
    event: string | null;
    dropped: number;
    converted: number;
  }>(buildDidInsteadQuery(ctx, funnelSpec, persons, b));
  const total = rows.find((r) => r.kind === 'total');
  const any = rows.find((r) => r.kind === 'any');
  return {
    events: rows
      .filter((r): r is typeof r & { event: string } => r.kind === 'event' && r.event !== null)
      .map((r) => ({ event: r.event, dropped: Number(r.dropped), converted: Number(r.converted) })),
    dropped: Number(total?.dropped ?? 0),
    converted: Number(total?.converted ?? 0),
    droppedWithAnyEvent: Number(any?.dropped ?? 0),
  };
}

/** Pure: shares, lift and the tests of each event (Benjamini–Hochberg across them), the most common first. */
export function didInstead(counts: DidInsteadCounts): {
  events: DidInstead[];
  dropped: number;
  converted: number;
  droppedWithAnyEvent: number;
} {
  const { dropped, converted } = counts;
  const list = counts.events.map((r) => {
    const du = r.dropped;
    const cu = r.converted;
    const droppedShare = dropped > 0 ? du / dropped : 0;
    const convertedShare = converted > 0 ? cu / converted : 0;
    const test =
      dropped > 0 && converted > 0
        ? compareProportions({ successesA: du, totalA: dropped, successesB: cu, totalB: converted })
        : null;
    return {
      event: r.event,
      droppedShare,
      convertedShare,
      lift: convertedShare > 0 ? droppedShare / convertedShare : null,
      droppedUsers: du,
      convertedUsers: cu,
      pValue: test && !test.notEnoughData ? test.pValue : null,
      test: test?.test ?? null,
    };
  });
  const q = benjaminiHochberg(list.map((x) => x.pValue));
  const events = list
    .map((x, i) => ({ ...x, qValue: q[i] ?? null }))
    .sort(
      (x, y) =>
        y.droppedShare - x.droppedShare ||
        (y.lift ?? Infinity) - (x.lift ?? Infinity) ||
        compareText(x.event, y.event),
    )
    .slice(0, MAX_DID_INSTEAD);
  return { events, dropped, converted, droppedWithAnyEvent: counts.droppedWithAnyEvent };
}

// ---- run ---------------------------------------------------------------------------------------

function notEnough(summary: string, method: string, data: Record<string, unknown>): DeepDive {
  return {
    id: ID,
    question: QUESTION,
    summary: `Not enough data: ${summary}`,
    method,
    findings: [],
    data: { steps: [], biggestDrop: null, ...data },
  };
}

function comparisonFinding(title: string, c: StepComparison, a: string, b: string): Finding {
  return {
    title,
    detail:
      `Conversion into "${c.step}": ${pct(c.conversionA)} of ${c.baseA} (${a}) vs ${pct(c.conversionB)} of ${c.baseB} (${b}); ` +
      `${c.test}, p ${formatP(c.pValue)}, Benjamini–Hochberg q ${formatP(c.qValue)} across the steps tested.`,
    evidence: { ...c, correction: 'benjamini-hochberg', groupA: a, groupB: b },
  };
}

/** The method, in words (pure: the config decides it). */
export function onboardingMethod(config: DeepDiveContext['config']): string {
  const ob = config.onboarding;
  const W = ob.windowDays;
  const configured = ob.steps.length > 0;
  const stepsMethod = configured
    ? `Steps as configured (onboarding.steps).`
    : `No steps configured: steps INFERRED from new users' first events — feature events (not activity.excludeEvents, identity/bookkeeping or "$" autocapture such as $pageview) done within ${W} days of the first activity by ≥ ${MIN_INFERRED_SHARE * 100}% of new users, preferring one-time milestones (done on average ≤ ${MILESTONE_MAX_MEAN} times in the window by those who did them; with fewer than two, the most common events); the ${MAX_INFERRED_STEPS} most common, in order of the median time of their first occurrence.`;
  const method =
    `New users of a month: persons whose first activity event falls in it and whose ${W}-day window is wholly inside the data. ${stepsMethod} ` +
    `Ordered funnel (PostHog semantics) with a ${W}-day conversion window from the first step; per step the count, conversion from the previous and first step ` +
    `with 95% Wilson intervals, median and p90 time from the previous step. Biggest drop: lowest conversion from the previous step among steps with ≥ ${MIN_STEP_BASE} people at the step before (ties: the earlier step). ` +
    `Change this month: per step, the review month against the ${TRAILING_MONTHS} months before pooled (Fisher's exact test when an expected count is below 5, else the two-proportion z-test), Benjamini–Hochberg across steps, q < ${SIGNIFICANCE}; ` +
    `by ICP the same test ICP vs non-ICP. Did instead: feature events of those who reached the step before the biggest drop but not it, after that step and within the window, against those who went on (share, lift, same tests with Benjamini–Hochberg). ` +
    `Not enough data below ${MIN_NEW_USERS} new users.`;

  return method;
}

/** Pure: the months whose new users are read (see the file comment) and when the observed windows end. */
export function usableMonths(
  month: Month,
  bounds: { first: number; last: number },
  windowDays: number,
): { months: Month[]; observedUntil: Date; warm: number } {
  const dataStart = new Date(bounds.first * 1000);
  const observedUntil = new Date(bounds.last * 1000 - windowDays * DAY_MS);
  const warm = dataStart.getTime() + WARMUP_DAYS * DAY_MS;
  const months: Month[] = [];
  for (let i = TRAILING_MONTHS; i >= 0; i--) {
    const m = addMonths(month, -i);
    if (monthStart(m).getTime() >= warm && monthStart(m).getTime() < observedUntil.getTime()) months.push(m);
  }
  return { months, observedUntil, warm };
}

/** The new users first active in [from, to), all in one cohort (for `sqlFunnelPersons`). */
export function sqlReviewCohort(ctx: DeepDiveContext, from: Date, to: Date): Sql {
  const d = ctx.engine.dialect;
  return sql`SELECT person_id, 'review' AS value FROM (${sqlFirsts(ctx)}) fa
    WHERE f >= ${d.sqlTimestamp(sql`${from.toISOString()}`)} AND f < ${d.sqlTimestamp(sql`${to.toISOString()}`)}`;
}

/**
 * `(…) AS fp`: the funnel of each person of `cohort` (`person_id, value`), one row per person
 * with `value`, `reached` and the step times `t0`… (insights/funnel.ts `buildFunnelPersonsQuery`).
 */
export function sqlFunnelPersons(ctx: DeepDiveContext, spec: OnboardingFunnelSpec, cohort: Sql): Sql {
  return sql`(${buildFunnelPersonsQuery(ctx.engine.dialect, spec, { cohort })}) AS fp`;
}

/**
 * The funnel of each new user first active in [from, to), `value` their month: what the funnel
 * by month, by ICP and the did-instead query all read. A person's steps depend only on their own
 * events, so the review month's people are the rows of that month. Computed once per build (a
 * shared relation, store/build-scope.ts), else a subquery in each query.
 */
export function funnelPersons(
  ctx: DeepDiveContext,
  spec: OnboardingFunnelSpec,
  from: Date,
  to: Date,
): Promise<Sql> {
  const select = buildFunnelPersonsQuery(ctx.engine.dialect, spec, { cohort: sqlCohort(ctx, from, to) });
  const what = JSON.stringify([ctx.config.activity, spec, from.toISOString(), to.toISOString()]);
  const key = `onboarding funnel ${ctx.product.name} ${createHash('sha256').update(what).digest('hex').slice(0, 16)}`;
  return sharedRelation(ctx.engine, key, select, 'fp');
}

/** Query: the funnel of `persons` (funnelPersons), one breakdown per month. */
export async function queryFunnelByMonth(
  ctx: DeepDiveContext,
  spec: OnboardingFunnelSpec,
  persons: Sql,
): Promise<Map<string, FunnelStepResult[]>> {
  const r = await funnelOfPersons(ctx.engine, spec, persons, { p90: true });
  return new Map((r.breakdowns ?? []).map((x) => [x.value ?? '', x.steps]));
}

/**
 * The review month's people of `persons` with `value` their ICP class: of the organization their
 * events name first (any event, from the start of the data), `no organization` when none does,
 * `unclassified` when it has no properties.
 */
export function sqlIcpPersons(ctx: DeepDiveContext, spec: OnboardingFunnelSpec, persons: Sql): Sql {
  const d = ctx.engine.dialect;
  const rule = sqlIcpRule(d, ctx.config.icp.all, raw('g.properties'));
  const times = spec.steps.map((_, k) => sql`, c.${raw(`t${k}`)} AS ${raw(`t${k}`)}`);
  return sql`(
    WITH ${d.sqlMaterialized('c', sql`SELECT * FROM ${persons} WHERE value = ${ctx.month}`)},
    firsts AS (
      SELECT person_id, ${d.sqlArgMin(raw('organization'), raw('timestamp'))} AS organization FROM ${eventsWithPersons()}
      WHERE organization IS NOT NULL AND person_id IN (SELECT person_id FROM c) GROUP BY person_id
    )
    SELECT c.person_id AS person_id, CASE WHEN o.organization IS NULL THEN 'no organization'
      WHEN g.properties IS NULL THEN 'unclassified' WHEN ${rule} THEN 'icp' ELSE 'non-icp' END AS value,
      c.reached AS reached${join(times, '')}
    FROM c
    LEFT JOIN firsts o ON o.person_id = c.person_id
    LEFT JOIN groups g ON g.group_type = 'organization' AND g.group_key = o.organization
  ) AS fi`;
}

/** Query: the review month's funnel of `persons` (funnelPersons), one breakdown per ICP class. */
export async function queryFunnelByIcp(
  ctx: DeepDiveContext,
  spec: OnboardingFunnelSpec,
  persons: Sql,
): Promise<{ value: string | null; steps: FunnelStepResult[] }[]> {
  const r = await funnelOfPersons(ctx.engine, spec, sqlIcpPersons(ctx, spec, persons), { p90: true });
  return r.breakdowns ?? [];
}

/** What the queries found, for the pure format. */
export interface OnboardingFacts {
  months: Month[];
  sizes: Map<Month, CohortMonth>;
  inferred: InferredSteps | null;
  names: string[];
  byMonth: Map<string, FunnelStepResult[]>;
  /** Null when no ICP rule is configured. */
  byIcp: { value: string | null; steps: FunnelStepResult[] }[] | null;
  instead: DidInsteadCounts | null;
}

function reviewSizeOf(ctx: Pick<DeepDiveContext, 'month'>, sizes: Map<Month, CohortMonth>) {
  const reviewSize = sizes.get(ctx.month) ?? { month: ctx.month, newUsers: 0, observedNewUsers: 0 };
  return {
    reviewSize,
    sizeData: {
      newUsers: reviewSize.observedNewUsers,
      censoredNewUsers: reviewSize.newUsers - reviewSize.observedNewUsers,
    },
  };
}

async function run(ctx: DeepDiveContext): Promise<DeepDive> {
  const ob = ctx.config.onboarding;
  const W = ob.windowDays;
  const configured = ob.steps.length > 0;
  const method = onboardingMethod(ctx.config);
  const q = <T>(name: string, fn: () => Promise<T>): Promise<T> => timedQuery(ctx, ID, name, fn);

  const bounds = await q('data bounds', () => queryDataBounds(ctx));
  if (bounds.first === null || bounds.last === null) {
    return notEnough('no events.', method, { newUsers: 0 });
  }
  const { months, observedUntil, warm } = usableMonths(
    ctx.month,
    { first: bounds.first, last: bounds.last },
    W,
  );
  const sizes = await q('cohort months', () =>
    queryCohortMonths(ctx, monthStart(addMonths(ctx.month, -TRAILING_MONTHS)), observedUntil),
  );
  const { reviewSize, sizeData } = reviewSizeOf(ctx, sizes);
  if (!months.includes(ctx.month)) {
    const why =
      monthStart(ctx.month).getTime() < warm
        ? `the review month starts within ${WARMUP_DAYS} days of the data's first event, where every user looks new.`
        : `no new user of the review month has a whole ${W}-day window inside the data yet.`;
    return notEnough(why, method, sizeData);
  }
  if (reviewSize.observedNewUsers < MIN_NEW_USERS) {
    return notEnough(
      `${reviewSize.observedNewUsers} new users in ${ctx.month} with a whole ${W}-day window observed; needs ${MIN_NEW_USERS}.`,
      method,
      sizeData,
    );
  }

  const from = monthStart(months[0] as Month);
  const to = new Date(Math.min(monthEnd(ctx.month).getTime(), observedUntil.getTime()));
  const inferred = configured
    ? null
    : inferSteps(await q('inferred steps', () => queryInferenceCounts(ctx, from, to)));
  const names = configured ? [...ob.steps] : (inferred?.steps ?? []);
  if (names.length < 2) {
    return notEnough(
      `fewer than two onboarding steps: ${configured ? 'configure at least two in onboarding.steps' : `no more than ${names.length} event(s) done by ≥ ${MIN_INFERRED_SHARE * 100}% of new users; configure onboarding.steps`}.`,
      method,
      { ...sizeData, inferredSteps: inferred?.candidates ?? null },
    );
  }

  const spec: OnboardingFunnelSpec = {
    dateFrom: from.toISOString(),
    dateTo: new Date(to.getTime() + W * DAY_MS).toISOString(),
    steps: names,
    windowSeconds: W * 86_400,
  };
  // The first query to read the people's steps pays for them (once per build).
  const byMonth = await q('funnel by month', async () =>
    queryFunnelByMonth(ctx, spec, await funnelPersons(ctx, spec, from, to)),
  );
  const persons = await funnelPersons(ctx, spec, from, to);
  const byIcp = hasIcpRule(ctx.config.icp.all)
    ? await q('funnel by ICP', () => queryFunnelByIcp(ctx, spec, persons))
    : null;
  // The did-instead query reads the step of the biggest drop, which the funnel decides.
  const drop = findBiggestDrop(onboardingSteps(names, byMonth.get(ctx.month)));
  const instead =
    drop.index === null
      ? null
      : await q('did instead', () =>
          queryDidInstead(
            ctx,
            spec,
            sql`(SELECT * FROM ${persons} WHERE value = ${ctx.month}) AS fr`,
            drop.index as number,
          ),
        );
  return formatOnboardingFunnel(ctx, { months, sizes, inferred, names, byMonth, byIcp, instead });
}

/** Pure: the dive from what the queries found (no SQL). */
export function formatOnboardingFunnel(
  ctx: Pick<DeepDiveContext, 'config' | 'month'>,
  facts: OnboardingFacts,
): DeepDive {
  const ob = ctx.config.onboarding;
  const W = ob.windowDays;
  const configured = ob.steps.length > 0;
  const method = onboardingMethod(ctx.config);
  const { months, sizes, inferred, names, byMonth } = facts;
  const { reviewSize, sizeData } = reviewSizeOf(ctx, sizes);
  const steps = onboardingSteps(names, byMonth.get(ctx.month));
  const drop = findBiggestDrop(steps);

  // Trailing months pooled, and the test of this month against them.
  const trailingMonths = months.filter((m) => m !== ctx.month);
  const pooled = names.map((_, k) => ({
    count: trailingMonths.reduce((s, m) => s + (byMonth.get(m)?.[k]?.count ?? 0), 0),
  }));
  const changes = compareSteps(names, steps, pooled);
  const monthly = months.map((m) => ({
    month: m,
    newUsers: sizes.get(m)?.observedNewUsers ?? 0,
    steps: onboardingSteps(names, byMonth.get(m)).map((s) => ({
      name: s.name,
      count: s.count,
      conversionFromPrevious: s.conversionFromPrevious,
    })),
  }));

  // By ICP, for the review month's new users.
  let byIcp: { group: string; steps: OnboardingStep[] }[] | null = null;
  let icpComparisons: StepComparison[] = [];
  if (facts.byIcp !== null) {
    byIcp = facts.byIcp
      .map((x) => ({ group: x.value ?? 'unknown', steps: onboardingSteps(names, x.steps) }))
      .sort((a, b) => compareText(a.group, b.group));
    const group = (g: string): OnboardingStep[] =>
      byIcp?.find((x) => x.group === g)?.steps ?? onboardingSteps(names, []);
    icpComparisons = compareSteps(names, group('icp'), group('non-icp'));
  }

  // What those who dropped at the biggest drop did instead (review month).
  const instead = drop.index === null || facts.instead === null ? null : didInstead(facts.instead);

  // ---- findings and summary ----
  const findings: Finding[] = [];
  const entered = steps[0]?.count ?? 0;
  const dropStep = drop.index === null ? null : steps[drop.index];
  const prevStep = drop.index === null ? null : steps[drop.index - 1];
  const changeAtDrop = drop.step === null ? undefined : changes.find((c) => c.step === drop.step);
  if (dropStep && prevStep) {
    const ci = dropStep.conversionInterval;
    const moved = changeAtDrop?.significant
      ? ` (${changeAtDrop.difference < 0 ? 'down' : 'up'} from ${pct(changeAtDrop.conversionB)} in the trailing months)`
      : '';
    const changeText = changeAtDrop
      ? ` Against the ${trailingMonths.length} months before, pooled: ${pct(changeAtDrop.conversionB)} of ${changeAtDrop.baseB} ` +
        `(${changeAtDrop.test}, p ${formatP(changeAtDrop.pValue)}, Benjamini–Hochberg q ${formatP(changeAtDrop.qValue)} across the steps tested).`
      : ' Not compared with the trailing months (too few people there).';
    findings.push({
      // The change test's q decides whether it is highlighted: a drop that is as usual is not news.
      title: `Biggest drop: "${prevStep.name}" → "${dropStep.name}", ${pct(dropStep.conversionFromPrevious)} continue${moved}`,
      detail:
        `${dropStep.count} of ${prevStep.count} new users who reached "${prevStep.name}" went on to "${dropStep.name}" within ${W} days ` +
        `(${pct(dropStep.conversionFromPrevious)}, 95% Wilson interval ${ci ? `${pct(ci.low)}–${pct(ci.high)}` : 'n/a'}); ` +
        `median ${formatDuration(dropStep.medianSecondsFromPrevious)}, p90 ${formatDuration(dropStep.p90SecondsFromPrevious)} between the two. ${drop.reason}${changeText}`,
      evidence: {
        interval95: 'wilson-score-interval',
        ...(changeAtDrop
          ? {
              test: changeAtDrop.test,
              pValue: changeAtDrop.pValue,
              qValue: changeAtDrop.qValue,
              correction: 'benjamini-hochberg',
              trailingConversion: changeAtDrop.conversionB,
              trailingBase: changeAtDrop.baseB,
            }
          : {}),
        month: ctx.month,
        newUsers: reviewSize.observedNewUsers,
        entered,
        atPrevious: prevStep.count,
        reached: dropStep.count,
        conversion: dropStep.conversionFromPrevious,
        interval: ci,
        medianSeconds: dropStep.medianSecondsFromPrevious,
        p90Seconds: dropStep.p90SecondsFromPrevious,
        clearlyLowest: drop.clearlyLowest,
      },
    });
  }
  const significantChanges = changes.filter((c) => c.significant).sort((a, b) => a.qValue - b.qValue);
  for (const c of significantChanges.filter((x) => x.step !== drop.step)) {
    findings.push(
      comparisonFinding(
        `Conversion into "${c.step}" ${c.difference < 0 ? 'fell' : 'rose'} this month: ${pct(c.conversionA)} vs ${pct(c.conversionB)}`,
        c,
        ctx.month,
        `${trailingMonths.length} months before, pooled`,
      ),
    );
  }
  for (const c of icpComparisons.filter((x) => x.significant)) {
    findings.push(
      comparisonFinding(
        `ICP new users convert into "${c.step}" ${c.difference < 0 ? 'less' : 'more'}: ${pct(c.conversionA)} vs ${pct(c.conversionB)} non-ICP`,
        c,
        'ICP',
        'non-ICP',
      ),
    );
  }
  if (instead && dropStep && prevStep && instead.dropped > 0) {
    // Distinctive: done more often by those who dropped than by those who went on, q < SIGNIFICANCE.
    const moreOften = instead.events.filter((x) => x.droppedUsers > 0 && (x.lift === null || x.lift > 1));
    const top = moreOften.filter((x) => x.qValue !== null && x.qValue < SIGNIFICANCE).slice(0, 3);
    const describe = (x: DidInstead): string =>
      `"${x.event}" (${pct(x.droppedShare)} of them vs ${pct(x.convertedShare)} of those who went on${x.lift === null ? '' : `, lift ${x.lift.toFixed(2)}`}, q ${x.qValue === null ? 'n/a' : formatP(x.qValue)})`;
    const list = top.length
      ? `More often than those who went on: ${top.map(describe).join('; ')}.`
      : `Nothing significantly more often than those who went on${instead.events.length ? `; most common: ${instead.events.slice(0, 3).map(describe).join('; ')}` : ''}.`;
    const best = top[0] ?? moreOften[0];
    findings.push({
      title: top.length
        ? `Instead of "${dropStep.name}", those who dropped did: ${top.map((x) => `"${x.event}"`).join(', ')}`
        : `Those who dropped before "${dropStep.name}" did nothing distinctive instead`,
      detail:
        `${instead.dropped} new users reached "${prevStep.name}" but not "${dropStep.name}" (${instead.converted} went on); ` +
        `${instead.dropped - instead.droppedWithAnyEvent} of them did no further feature event in the window. ${list}`,
      evidence: {
        test: best?.test ?? null,
        qValue: best?.qValue ?? 1,
        lift: best?.lift ?? null,
        dropped: instead.dropped,
        converted: instead.converted,
        droppedWithoutFurtherEvents: instead.dropped - instead.droppedWithAnyEvent,
        events: instead.events,
        correction: 'benjamini-hochberg',
      },
    });
  }

  let summary = `${reviewSize.observedNewUsers} new users in ${ctx.month}, ${entered} did "${names[0]}"`;
  if (dropStep && prevStep) {
    summary += `; the biggest drop is at "${dropStep.name}": ${pct(dropStep.conversionFromPrevious)} of those at "${prevStep.name}" continue`;
    if (changeAtDrop) {
      summary += changeAtDrop.significant
        ? ` (${changeAtDrop.difference < 0 ? 'down' : 'up'} from ${pct(changeAtDrop.conversionB)} in the trailing months, q ${formatP(changeAtDrop.qValue)})`
        : ` (no significant change from ${pct(changeAtDrop.conversionB)} in the trailing months, p ${formatP(changeAtDrop.pValue)})`;
    }
  } else {
    summary += `; ${drop.reason}`;
  }
  summary += '.';
  const otherChanges = significantChanges.filter((c) => c.step !== drop.step);
  if (otherChanges.length)
    summary += ` Also changed this month: ${otherChanges.map((c) => `"${c.step}"`).join(', ')}.`;
  if (!configured) {
    const how = inferred?.rule === 'milestones' ? 'one-time milestones among' : 'the most common of';
    summary += ` Steps inferred (${how} new users' first events): ${names.map((n) => `"${n}"`).join(' → ')}.`;
  }

  return {
    id: ID,
    question: QUESTION,
    summary,
    method,
    findings,
    data: {
      steps,
      biggestDrop: drop.step,
      biggestDropReason: drop.reason,
      biggestDropClearlyLowest: drop.clearlyLowest,
      stepsSource: configured ? 'configured' : 'inferred',
      inferredSteps: inferred?.candidates ?? null,
      inferredBy: inferred?.rule ?? null,
      windowDays: W,
      ...sizeData,
      changeThisMonth: { trailingMonths, comparisons: changes },
      byMonth: monthly,
      byIcp,
      icpRule: hasIcpRule(ctx.config.icp.all) ? describeIcpRule(ctx.config.icp.all) : null,
      icpComparisons,
      didInstead: instead,
    },
  };
}

export const onboardingFunnel: DeepDiveRunner = { id: ID, question: QUESTION, run };

/**
 * Deep dive `leading-indicators`: which early behaviours predict long-term usage?
 * (docs/analyses.md#leading-indicators)
 *
 * The question Amplitude Compass and Mixpanel Signal answer ("7 friends in 10 days"), asked of new
 * users and, separately, of new organizations.
 *
 * - First activity: a subject's (person's or organization's) first activity event of the product
 *   (metrics/scope.ts).
 * - Cohort, per outcome window O (config `leadingIndicators.outcomeDays`): subjects whose first
 *   activity falls in [T − O − COHORT_DAYS days, T − O days), T the end of the review month, so the
 *   whole outcome window has been observed by the review; and not in the store's first
 *   WARMUP_DAYS days, where an old user looks new because their history starts with the data.
 * - Outcome ("retained"): at least one activity event in days (max(O − 28, longest window), O]
 *   after the first activity: a four-week window ending on day O that never overlaps a behaviour
 *   window, so a rule cannot predict itself.
 * - Rules: "did event X at least k times in the first d days" (from the first activity, inclusive)
 *   for every feature event X (feature-events.ts), k = 1..maxThreshold, d in windowDays. Counted
 *   in one SQL statement: per subject, event and window the count, then the rule grid by a join
 *   with the thresholds; no per-subject work happens in JS.
 * - Each rule's confusion matrix against the outcome gives precision (retention rate of those who
 *   follow it), recall, lift (precision ÷ the cohort's retention rate) and the score: the phi
 *   coefficient (= Matthews correlation), which Compass and Signal rank by. The p-value is Fisher's
 *   exact test when an expected count is below 5, else the two-proportion z-test (= chi-square on
 *   the 2×2 table); Benjamini–Hochberg across every rule tested.
 * - Support: a rule must pick at least max(MIN_SUPPORT, 2% of the cohort) subjects and leave as
 *   many out (PostHog's funnel correlation uses 25 people or 2%).
 * - Excluded events: those done (at least once in the longest window) by ≥ 95% of retained
 *   subjects, which restate "was active early" (the signup event, a pageview everyone fires), and,
 *   when `activity.activeEvents` is a list rather than `*`, the events that define activity
 *   itself.
 * - Indicators: significant (q < 0.05) rules with a positive score, the best rule per event kept
 *   and its other thresholds, windows and outcome windows removed as nested variants, best first.
 *
 * Not enough data: a cohort under MIN_COHORT subjects, or fewer than MIN_OUTCOME of either
 * retained or not retained, for every outcome window.
 */
import { monthEnd } from '../../domain/month.js';
import type { DeepDive, Finding } from '../../domain/review.js';
import { matchesAnyGlob } from '../../metrics/scope.js';
import { join, raw, sql, type Sql } from '../../store/sql.js';
import { benjaminiHochberg, classification, compareProportions } from '../stats/index.js';
import { sqlFeatureEvent } from './feature-events.js';
import { formatP } from './text.js';
import { timedQuery } from './timed.js';
import type { DeepDiveContext, DeepDiveRunner } from './types.js';
import { compareText } from '../../domain/order.js';
import { eventsWithPersons } from '../../store/events.js';
import { activityDaysIfMade } from '../../metrics/activity-days.js';

const DAY_MS = 86_400_000;
export const COHORT_DAYS = 180;
export const WARMUP_DAYS = 14;
export const OUTCOME_LENGTH_DAYS = 28;
export const RESTATES_ACTIVITY_SHARE = 0.95;
export const SIGNIFICANCE = 0.05;
const MAX_FINDINGS = 5;

type Subject = 'users' | 'organizations';

const SUBJECTS: Record<Subject, { minSupport: number; minCohort: number; minOutcome: number; noun: string }> =
  {
    users: { minSupport: 25, minCohort: 50, minOutcome: 10, noun: 'users' },
    organizations: {
      minSupport: 10,
      minCohort: 30,
      minOutcome: 5,
      noun: 'organizations',
    },
  };

const ID = 'leading-indicators';
const QUESTION = 'Which early behaviours predict long-term usage?';

export interface LeadingIndicator {
  event: string;
  threshold: number;
  windowDays: number;
  outcomeDays: number;
  /** Retention rate of those who follow the rule. */
  precision: number;
  recall: number;
  /** precision ÷ the cohort's retention rate. */
  lift: number;
  /** phi coefficient (Matthews correlation) of rule and outcome. */
  score: number;
  /** Retention rate of those who do not follow the rule. */
  retainedWithout: number;
  baseRate: number;
  support: number;
  cohort: number;
  pValue: number;
  qValue: number;
  test: string;
  /** Nested variants (same event, other k, d or O) removed in its favour. */
  variantsRemoved: number;
  /** The same event's best significant rule in each behaviour window (this one included), shortest first. */
  byWindow: WindowVariant[];
  sentence: string;
}

export interface WindowVariant {
  windowDays: number;
  threshold: number;
  outcomeDays: number;
  score: number;
  precision: number;
  retainedWithout: number;
  qValue: number;
}

export interface OutcomeWindow {
  outcomeDays: number;
  /** Retained: activity in days (outcomeFrom, outcomeDays]. */
  outcomeFrom: number;
  cohortFrom: string;
  cohortTo: string;
}

export interface GridRow {
  kind: Subject;
  outcome_days: number;
  event: string | null;
  window_days: number;
  threshold: number;
  rule_n: number;
  rule_retained: number;
}

const pct = (x: number): string => `${Math.round(100 * x)}%`;
const isoDate = (iso: string): string => iso.slice(0, 10);

/** Pure: the outcome windows that fit the data, with their cohorts (see the file comment). */
export function outcomeWindows(
  ctx: Pick<DeepDiveContext, 'config' | 'month'>,
  dataStart: Date,
): { windows: OutcomeWindow[]; skipped: string[] } {
  const li = ctx.config.leadingIndicators;
  const longest = Math.max(...li.windowDays);
  const end = monthEnd(ctx.month).getTime();
  const windows: OutcomeWindow[] = [];
  const skipped: string[] = [];
  for (const o of [...new Set(li.outcomeDays)].sort((a, b) => a - b)) {
    const outcomeFrom = Math.max(o - OUTCOME_LENGTH_DAYS, longest);
    const to = end - o * DAY_MS;
    const from = Math.max(to - COHORT_DAYS * DAY_MS, dataStart.getTime() + WARMUP_DAYS * DAY_MS);
    if (outcomeFrom >= o)
      skipped.push(`${o} days: not longer than the longest behaviour window (${longest} days)`);
    else if (from >= to)
      skipped.push(
        `${o} days: the data does not reach back ${o + WARMUP_DAYS} days before the review month ends`,
      );
    else
      windows.push({
        outcomeDays: o,
        outcomeFrom,
        cohortFrom: new Date(from).toISOString(),
        cohortTo: new Date(to).toISOString(),
      });
  }
  return { windows, skipped };
}

/**
 * One statement for users and organizations together: the rule grid (kind × outcome × event ×
 * window × threshold) and, with event NULL, each cohort's totals.
 * - First activity and the outcome come from the activity days (the table the review build made
 *   for the usage metrics, metrics/activity-days.ts): a subject is retained in an outcome window
 *   (f + lo, f + hi] when one of its days has `last_ts > f + lo` and `first_ts <= f + hi`. That is
 *   exact, since a day spans less than the window's whole days: its events lie between its first
 *   and last, so a day meeting both has one inside (its first, or else its last).
 * - The behaviours are the one scan of `events`: only feature events, only the range the
 *   cohorts' behaviour windows cover, joined to the cohort under both kinds. Per subject and
 *   event one row carries the count in each behaviour window.
 * - A subject counts in a cohort when it has a feature event in its longest behaviour window or
 *   an activity event in an outcome window (of any outcome length).
 * - The grid: per rule the subjects whose count (capped at maxThreshold) reaches each threshold,
 *   summed from the subjects per count, so thresholds multiply a small table, not the subjects.
 */
export function sqlRuleGrid(ctx: DeepDiveContext, windows: OutcomeWindow[]): Sql {
  const d = ctx.engine.dialect;
  const li = ctx.config.leadingIndicators;
  const union = (rows: Sql[]): Sql => join(rows, ' UNION ALL ');
  const addDays = (n: Sql, ts: Sql): Sql => d.sqlDateAdd('day', n, ts);
  const days = [...new Set(li.windowDays)].sort((a, b) => a - b);
  // Column names from validated integers (config windows and outcome days), never user text.
  const nCol = (w: number): Sql => raw(`n${Math.trunc(w)}`);
  const rCol = (o: number): Sql => raw(`r${Math.trunc(o)}`);
  const endCol = (w: number): Sql => raw(`end${Math.trunc(w)}`);
  const loCol = (o: number): Sql => raw(`lo${Math.trunc(o)}`);
  const hiCol = (o: number): Sql => raw(`hi${Math.trunc(o)}`);
  const longest = Math.max(...days);
  const feat = sqlFeatureEvent(d, ctx.config, ctx.product, raw('e.event'));
  const outcomes = union(
    windows.map(
      (w) =>
        sql`SELECT ${w.outcomeDays} AS outcome_days, ${d.sqlTimestamp(sql`${w.cohortFrom}`)} AS cohort_from, ${d.sqlTimestamp(sql`${w.cohortTo}`)} AS cohort_to`,
    ),
  );
  const thresholds = union(
    Array.from({ length: li.maxThreshold }, (_, i) => sql`SELECT ${i + 1} AS threshold`),
  );
  // Behaviours happen in [f, f + longest) with f in a cohort: nothing outside can matter.
  const earliest = Math.min(...windows.map((w) => Date.parse(w.cohortFrom)));
  const latest = Math.max(...windows.map((w) => Date.parse(w.cohortTo))) + longest * DAY_MS;
  const at = (ms: number): Sql => d.sqlTimestamp(sql`${new Date(ms).toISOString()}`);
  const inWindow = (w: number): Sql =>
    sql`sum(CASE WHEN j.timestamp < j.${endCol(w)} THEN 1 ELSE 0 END) AS ${nCol(w)}`;
  // A day of the subject's activity with an event in the outcome window (see above).
  const activeIn = (o: number): Sql => sql`a.last_ts > s.${loCol(o)} AND a.first_ts <= s.${hiCol(o)}`;
  const retainedIn = (o: number): Sql => sql`max(CASE WHEN ${activeIn(o)} THEN 1 ELSE 0 END) AS ${rCol(o)}`;
  const pick = (key: Sql, values: number[], col: (v: number) => Sql): Sql =>
    sql`CASE ${key} ${join(
      values.map((v) => sql`WHEN ${v} THEN ${col(v)}`),
      ' ',
    )} END`;
  return sql`
    WITH firsts AS (
      -- Each person's and organization's first activity event. person_id is never null in the
      -- activity days, so it is null only in the organization grouping set.
      SELECT CASE WHEN a.person_id IS NULL THEN 'organizations' ELSE 'users' END AS kind,
        coalesce(a.person_id, a.organization) AS subject, min(a.first_ts) AS f
      FROM ${activityDaysIfMade(ctx, 'a')}
      GROUP BY GROUPING SETS ((a.person_id), (a.organization))
    ),
    outcomes AS (${outcomes}),
    ${d.sqlMaterialized(
      'cohort',
      sql`
      SELECT s.kind AS kind, s.subject AS subject, s.f AS f, o.outcome_days AS outcome_days
      FROM firsts s JOIN outcomes o ON s.f >= o.cohort_from AND s.f < o.cohort_to
      WHERE s.subject IS NOT NULL`,
    )},
    -- Not a materialized CTE: chdb joined the events to one 30× slower (20 s against 0.7 s at 1M).
    subjects AS (
      SELECT kind, subject, f, ${join(days.map((w) => sql`${addDays(sql`${w}`, raw('f'))} AS ${endCol(w)}`))},
        ${join(
          windows.flatMap((w) => [
            sql`${addDays(sql`${w.outcomeFrom}`, raw('f'))} AS ${loCol(w.outcomeDays)}`,
            sql`${addDays(sql`${w.outcomeDays}`, raw('f'))} AS ${hiCol(w.outcomeDays)}`,
          ]),
        )}
      FROM (SELECT DISTINCT kind, subject, f FROM cohort) c
    ),
    kinds AS (SELECT 'users' AS kind UNION ALL SELECT 'organizations' AS kind),
    ${d.sqlMaterialized(
      'per_event',
      sql`
      SELECT j.kind AS kind, j.subject AS subject, j.event AS event, ${join(days.map(inWindow))}
      FROM (
        SELECT s.kind AS kind, s.subject AS subject, ${join(days.map((w) => sql`s.${endCol(w)} AS ${endCol(w)}`))},
          x.event AS event, x.timestamp AS timestamp
        FROM (
          SELECT k.kind AS kind, CASE WHEN k.kind = 'users' THEN e.person_id ELSE e.organization END AS subject,
            e.event AS event, e.timestamp AS timestamp
          FROM ${eventsWithPersons('e')} CROSS JOIN kinds k
          WHERE e.timestamp >= ${at(earliest)} AND e.timestamp < ${at(latest)} AND ${feat}
        ) x
        JOIN subjects s ON s.kind = x.kind AND s.subject = x.subject
        WHERE x.timestamp >= s.f AND x.timestamp < s.${endCol(longest)}
      ) j
      GROUP BY j.kind, j.subject, j.event`,
    )},
    retained AS (
      SELECT s.kind AS kind, s.subject AS subject, ${join(windows.map((w) => retainedIn(w.outcomeDays)))}
      FROM (
        SELECT k.kind AS kind, CASE WHEN k.kind = 'users' THEN a.person_id ELSE a.organization END AS subject,
          a.first_ts AS first_ts, a.last_ts AS last_ts
        FROM ${activityDaysIfMade(ctx, 'a')} CROSS JOIN kinds k
      ) a
      JOIN subjects s ON s.kind = a.kind AND s.subject = a.subject
      WHERE ${join(
        windows.map((w) => sql`(${activeIn(w.outcomeDays)})`),
        ' OR ',
      )}
      GROUP BY s.kind, s.subject
    ),
    per_subject AS (
      SELECT kind, subject, ${join(windows.map((w) => sql`max(${rCol(w.outcomeDays)}) AS ${rCol(w.outcomeDays)}`))}
      FROM (
        SELECT kind, subject, ${join(windows.map((w) => sql`0 AS ${rCol(w.outcomeDays)}`))} FROM per_event
        UNION ALL
        SELECT kind, subject, ${join(windows.map((w) => rCol(w.outcomeDays)))} FROM retained
      ) r
      GROUP BY kind, subject
    ),
    ${d.sqlMaterialized(
      'outcome',
      sql`
      SELECT c.kind AS kind, c.subject AS subject, c.outcome_days AS outcome_days, ${pick(
        raw('c.outcome_days'),
        windows.map((w) => w.outcomeDays),
        (o) => sql`p.${rCol(o)}`,
      )} AS retained
      FROM cohort c JOIN per_subject p ON p.kind = c.kind AND p.subject = c.subject`,
    )},
    windows AS (${union(days.map((w) => sql`SELECT ${w} AS window_days`))}),
    -- n is a BIGINT: ClickHouse has no common type for a count (unsigned) and a bound integer.
    counts AS (
      SELECT kind, subject, event, window_days, CASE WHEN n > ${li.maxThreshold} THEN ${li.maxThreshold} ELSE n END AS n
      FROM (
        SELECT p.kind AS kind, p.subject AS subject, p.event AS event, w.window_days AS window_days,
          CAST(${pick(raw('w.window_days'), days, (v) => sql`p.${nCol(v)}`)} AS BIGINT) AS n
        FROM per_event p CROSS JOIN windows w
      ) c
      WHERE n >= 1
    ),
    by_count AS (
      SELECT o.kind AS kind, o.outcome_days AS outcome_days, x.event AS event, x.window_days AS window_days,
        x.n AS n, count(*) AS subjects, sum(o.retained) AS retained
      FROM counts x JOIN outcome o ON o.kind = x.kind AND o.subject = x.subject
      GROUP BY o.kind, o.outcome_days, x.event, x.window_days, x.n
    ),
    thresholds AS (${thresholds})
    SELECT x.kind AS kind, x.outcome_days AS outcome_days, x.event AS event, x.window_days AS window_days,
      t.threshold AS threshold, sum(x.subjects) AS rule_n, sum(x.retained) AS rule_retained
    FROM by_count x JOIN thresholds t ON x.n >= t.threshold
    GROUP BY x.kind, x.outcome_days, x.event, x.window_days, t.threshold
    UNION ALL
    SELECT kind, outcome_days, NULL AS event, 0 AS window_days, 0 AS threshold, count(*) AS rule_n, sum(retained) AS rule_retained
    FROM outcome GROUP BY kind, outcome_days`;
}

type RuleRank = Pick<LeadingIndicator, 'event' | 'score' | 'threshold' | 'windowDays' | 'outcomeDays'>;

/**
 * Best first; ties go to the simpler rule (fewer times, shorter window, nearer outcome), then to the
 * event name, so rules tied on every measure keep one order whatever order the rows came in.
 */
export function compareIndicators(a: RuleRank, b: RuleRank): number {
  return (
    b.score - a.score ||
    a.threshold - b.threshold ||
    a.windowDays - b.windowDays ||
    a.outcomeDays - b.outcomeDays ||
    compareText(a.event, b.event)
  );
}

function sentence(
  noun: string,
  r: { event: string; threshold: number; windowDays: number; precision: number; retainedWithout: number },
): string {
  const times = r.threshold === 1 ? 'time' : 'times';
  return (
    `${noun} ${noun === 'users' ? 'who' : 'that'} do "${r.event}" ≥ ${r.threshold} ${times} in their first ${r.windowDays} days ` +
    `are retained at ${pct(r.precision)} vs ${pct(r.retainedWithout)}`
  );
}

interface SubjectResult {
  subject: Subject;
  indicators: LeadingIndicator[];
  cohorts: {
    outcomeDays: number;
    outcomeWindow: string;
    cohortFrom: string;
    cohortTo: string;
    size: number;
    retained: number;
    enough: boolean;
  }[];
  rulesTested: number;
  excludedEvents: string[];
  notEnough: string | null;
}

function analyse(
  ctx: Pick<DeepDiveContext, 'config'>,
  subject: Subject,
  windows: OutcomeWindow[],
  grid: GridRow[],
): SubjectResult {
  const s = SUBJECTS[subject];
  const empty: SubjectResult = {
    subject,
    indicators: [],
    cohorts: [],
    rulesTested: 0,
    excludedEvents: [],
    notEnough: null,
  };
  const rows = grid.filter((r) => r.kind === subject);

  const cohorts = windows.map((w) => {
    const t = rows.find((r) => r.event === null && r.outcome_days === w.outcomeDays);
    const size = t?.rule_n ?? 0;
    const retained = t?.rule_retained ?? 0;
    return {
      outcomeDays: w.outcomeDays,
      outcomeWindow: `days ${w.outcomeFrom + 1}–${w.outcomeDays} after first activity`,
      cohortFrom: isoDate(w.cohortFrom),
      cohortTo: isoDate(w.cohortTo),
      size,
      retained,
      enough: size >= s.minCohort && retained >= s.minOutcome && size - retained >= s.minOutcome,
    };
  });
  const usable = new Map(cohorts.filter((c) => c.enough).map((c) => [c.outcomeDays, c]));
  if (usable.size === 0) {
    const sizes = cohorts
      .map((c) => `${c.size} new ${s.noun}, ${c.retained} retained (${c.outcomeDays}-day outcome)`)
      .join('; ');
    return {
      ...empty,
      cohorts,
      notEnough: `${sizes || 'no cohort'}; needs ${s.minCohort} new ${s.noun} with at least ${s.minOutcome} retained and ${s.minOutcome} not`,
    };
  }

  // Events that restate activity: done within the longest window by ≥ 95% of the retained.
  const longest = Math.max(...ctx.config.leadingIndicators.windowDays);
  const activity = ctx.config.activity.activeEvents;
  const excluded = new Set<string>();
  for (const r of rows) {
    const c = r.event === null ? undefined : usable.get(r.outcome_days);
    if (!c || r.event === null || r.threshold !== 1 || r.window_days !== longest) continue;
    if (r.rule_retained >= RESTATES_ACTIVITY_SHARE * c.retained) excluded.add(r.event);
  }
  if (!activity.includes('*')) {
    for (const r of rows) if (r.event !== null && matchesAnyGlob(activity, r.event)) excluded.add(r.event);
  }

  const tested: Omit<LeadingIndicator, 'qValue' | 'variantsRemoved' | 'byWindow' | 'sentence'>[] = [];
  for (const r of rows) {
    const c = usable.get(r.outcome_days);
    if (!c || r.event === null || excluded.has(r.event)) continue;
    const minSupport = Math.max(s.minSupport, Math.ceil(0.02 * c.size));
    if (r.rule_n < minSupport || c.size - r.rule_n < minSupport) continue;
    const tp = r.rule_retained;
    const fp = r.rule_n - tp;
    const fn = c.retained - tp;
    const tn = c.size - c.retained - fp;
    const m = classification({
      truePositives: tp,
      falsePositives: fp,
      falseNegatives: fn,
      trueNegatives: tn,
    });
    const p = compareProportions({
      successesA: tp,
      totalA: r.rule_n,
      successesB: fn,
      totalB: c.size - r.rule_n,
    });
    if (
      m.notEnoughData ||
      p.notEnoughData ||
      m.mcc === null ||
      m.precision === null ||
      m.recall === null ||
      m.lift === null
    )
      continue;
    tested.push({
      event: r.event,
      threshold: r.threshold,
      windowDays: r.window_days,
      outcomeDays: r.outcome_days,
      precision: m.precision,
      recall: m.recall,
      lift: m.lift,
      score: m.mcc,
      retainedWithout: fn / (fn + tn),
      baseRate: m.baseRate,
      support: r.rule_n,
      cohort: c.size,
      pValue: p.pValue,
      test: p.test,
    });
  }
  const q = benjaminiHochberg(tested.map((t) => t.pValue));
  const significant = tested
    .map((t, i) => ({ ...t, qValue: q[i] as number }))
    .filter((t) => t.qValue < SIGNIFICANCE && t.score > 0)
    .sort(compareIndicators);
  const best = new Map<string, LeadingIndicator>();
  const variant = (t: (typeof significant)[number]): WindowVariant => ({
    windowDays: t.windowDays,
    threshold: t.threshold,
    outcomeDays: t.outcomeDays,
    score: t.score,
    precision: t.precision,
    retainedWithout: t.retainedWithout,
    qValue: t.qValue,
  });
  for (const t of significant) {
    const kept = best.get(t.event);
    if (!kept) {
      best.set(t.event, { ...t, variantsRemoved: 0, byWindow: [variant(t)], sentence: sentence(s.noun, t) });
      continue;
    }
    kept.variantsRemoved++;
    if (!kept.byWindow.some((w) => w.windowDays === t.windowDays)) kept.byWindow.push(variant(t));
  }
  for (const r of best.values()) r.byWindow.sort((a, b) => a.windowDays - b.windowDays);
  return {
    subject,
    indicators: [...best.values()],
    cohorts,
    rulesTested: tested.length,
    excludedEvents: [...excluded].sort(),
    notEnough: null,
  };
}

function finding(
  noun: string,
  r: LeadingIndicator,
  cohort: SubjectResult['cohorts'][number] | undefined,
): Finding {
  return {
    title: r.sentence.charAt(0).toUpperCase() + r.sentence.slice(1),
    detail:
      `Of ${r.cohort} new ${noun} (first active ${cohort?.cohortFrom ?? '?'} to ${cohort?.cohortTo ?? '?'}), ${r.support} followed the rule; ` +
      `retained = active in ${cohort?.outcomeWindow ?? `the ${r.outcomeDays}-day outcome window`}. ` +
      `Precision ${pct(r.precision)}, recall ${pct(r.recall)}, lift ${r.lift.toFixed(2)}, phi ${r.score.toFixed(3)} ` +
      `(${r.test}, p ${formatP(r.pValue)}, Benjamini–Hochberg q ${formatP(r.qValue)}); ` +
      `${r.variantsRemoved} nested variants of this rule removed.`,
    evidence: {
      test: r.test,
      pValue: r.pValue,
      qValue: r.qValue,
      correction: 'benjamini-hochberg',
      score: 'phi (Matthews correlation)',
      phi: r.score,
      cohort: r.cohort,
      support: r.support,
      retainedWith: r.precision,
      retainedWithout: r.retainedWithout,
      baseRate: r.baseRate,
    },
  };
}

/** The method, in words (pure). */
export function leadingIndicatorsMethod(config: DeepDiveContext['config']): string {
  const li = config.leadingIndicators;
  return (
    `New users (and organizations) whose first activity leaves the whole outcome window inside the data (cohort: first active in the ` +
    `${COHORT_DAYS} days before the review month's end minus the outcome window, not in the data's first ${WARMUP_DAYS} days). ` +
    `Retained = active in the last ${OUTCOME_LENGTH_DAYS} days of each outcome window (${li.outcomeDays.join(', ')} days), after the ` +
    `longest behaviour window. Rules "did X ≥ k times in the first d days" for k = 1..${li.maxThreshold}, d in ${li.windowDays.join(', ')}; ` +
    `scored by the phi coefficient (Matthews correlation) with precision, recall and lift; p-value by Fisher's exact test or the ` +
    `two-proportion z-test, Benjamini–Hochberg across all rules, q < ${SIGNIFICANCE}. Support: at least 25 users (10 organizations) and ` +
    `2% of the cohort on each side of the rule. Events done by ≥ ${RESTATES_ACTIVITY_SHARE * 100}% of retained subjects restate activity and are ` +
    `excluded; the best rule per event is kept, its nested variants removed.`
  );
}

/** Query: the store's first event (the data's start, for the warm-up), null when it holds none. */
export async function queryDataStart(ctx: DeepDiveContext): Promise<Date | null> {
  const rows = await ctx.engine.query<{ start: string | null }>(
    sql`SELECT min(timestamp) AS start FROM events`,
  );
  const start = rows[0]?.start;
  return start ? new Date(start) : null;
}

/** Query: the rule grid and each cohort's totals, for users and organizations (sqlRuleGrid). */
export async function queryRuleGrid(ctx: DeepDiveContext, windows: OutcomeWindow[]): Promise<GridRow[]> {
  return (await ctx.engine.query<GridRow>(sqlRuleGrid(ctx, windows))).map((r) => ({
    ...r,
    outcome_days: Number(r.outcome_days),
    window_days: Number(r.window_days),
    threshold: Number(r.threshold),
    rule_n: Number(r.rule_n),
    rule_retained: Number(r.rule_retained),
  }));
}

/** What the queries found: the data's start, the outcome windows that fit it, the rule grid. */
export interface LeadingIndicatorFacts {
  start: Date | null;
  windows: OutcomeWindow[];
  skipped: string[];
  grid: GridRow[];
}

async function run(ctx: DeepDiveContext): Promise<DeepDive> {
  const q = <T>(name: string, fn: () => Promise<T>): Promise<T> => timedQuery(ctx, ID, name, fn);
  const start = await q('data start', () => queryDataStart(ctx));
  const { windows, skipped } = start ? outcomeWindows(ctx, start) : { windows: [], skipped: [] };
  const grid = windows.length ? await q('rule grid', () => queryRuleGrid(ctx, windows)) : [];
  return formatLeadingIndicators(ctx, { start, windows, skipped, grid });
}

/** Pure: the dive from what the queries found (no SQL). */
export function formatLeadingIndicators(
  ctx: Pick<DeepDiveContext, 'config'>,
  found: LeadingIndicatorFacts,
): DeepDive {
  const method = leadingIndicatorsMethod(ctx.config);
  const { start, windows, skipped, grid } = found;
  if (!start) {
    return {
      id: ID,
      question: QUESTION,
      summary: 'Not enough data: no events.',
      method,
      findings: [],
      data: { indicators: [] },
    };
  }
  if (windows.length === 0) {
    return {
      id: ID,
      question: QUESTION,
      summary: `Not enough data: no outcome window fits the data (${skipped.join('; ')}).`,
      method,
      findings: [],
      data: { indicators: [], organizationIndicators: [] },
    };
  }
  const users = analyse(ctx, 'users', windows, grid);
  const orgs = analyse(ctx, 'organizations', windows, grid);

  const cohortOf = (r: SubjectResult, o: number): SubjectResult['cohorts'][number] | undefined =>
    r.cohorts.find((c) => c.outcomeDays === o);
  const findings = [
    ...users.indicators
      .slice(0, MAX_FINDINGS)
      .map((r) => finding('users', r, cohortOf(users, r.outcomeDays))),
    ...orgs.indicators.slice(0, 2).map((r) => finding('organizations', r, cohortOf(orgs, r.outcomeDays))),
  ];

  const top = users.indicators[0];
  let summary: string;
  if (users.notEnough !== null) summary = `Not enough data for new users: ${users.notEnough}.`;
  else if (top)
    summary = `${top.sentence.charAt(0).toUpperCase() + top.sentence.slice(1)} (phi ${top.score.toFixed(2)}, ${top.support} of ${top.cohort} new users).`;
  else
    summary = `No early behaviour predicts retention significantly among new users (${users.rulesTested} rules tested, Benjamini–Hochberg q < ${SIGNIFICANCE}).`;
  const orgTop = orgs.indicators[0];
  if (orgTop) summary += ` For organizations: ${orgTop.sentence}.`;

  const shape = (r: SubjectResult): Record<string, unknown> => ({
    cohorts: r.cohorts,
    rulesTested: r.rulesTested,
    excludedEvents: r.excludedEvents,
    notEnoughData: r.notEnough,
  });
  return {
    id: ID,
    question: QUESTION,
    summary,
    method,
    findings,
    data: {
      indicators: users.indicators,
      organizationIndicators: orgs.indicators,
      users: shape(users),
      organizations: shape(orgs),
    },
  };
}

export const leadingIndicators: DeepDiveRunner = { id: ID, question: QUESTION, run };

/**
 * Funnels with PostHog semantics (docs/insights.md#funnels): how many people went through the
 * steps in order within the conversion window, and how long each step took.
 *
 * Method, all in one SQL statement over the person's events in the date range:
 *  1. `ev`: the events that match a step or an exclusion (strict funnels: every event), with one
 *     flag per step, in a total order per person (timestamp, then the lowest step the event
 *     matches — so same-timestamp steps count in funnel order and one event never fills two
 *     steps; events tied on both are interchangeable and take either order);
 *  2. `chains`: every step-0 event starts an attempt. Ordered funnels take, step after step, the
 *     first matching event after the previous one (running counts in one window pass, then one
 *     hash join per step); strict funnels need the very next events; unordered funnels take,
 *     per step, the first matching event at or after the start;
 *  3. an attempt reaches step k when its step-k event is within `windowSeconds` of its start
 *     (inclusive); an exclusion event strictly between steps `fromStep` and `toStep` cancels it;
 *  4. `best`: per person the attempt that got furthest (then completed earliest, then started
 *     latest); a person whose furthest attempts are all cancelled drops out of the funnel;
 *  5. per breakdown value: people at each step and the median/average seconds from the previous.
 * `format` turns those rows into the result; `funnelPeople` returns the people behind a step.
 * For code (not users' specs), `FunnelOptions` restricts the funnel to a cohort of people, each
 * counted under its cohort value, and adds the p90 of the time between steps.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { Dialect } from '../store/dialect.js';
import type { Engine } from '../store/engine.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import {
  dateInput,
  dateRange,
  eventMatcherSchema,
  matcherName,
  parseSpec,
  propertyFilterSchema,
  sqlInRange,
  sqlMatches,
  type EventMatcher,
} from './common.js';
import { eventsWithPersons } from '../store/events.js';

const DEFAULT_WINDOW_SECONDS = 14 * 86_400; // PostHog: 14 days

const exclusionSchema = z.strictObject({
  event: z.string().min(1),
  properties: z.array(propertyFilterSchema).default([]),
  fromStep: z.number().int().min(0).default(0),
  toStep: z.number().int().min(1).optional(),
});

export const breakdownSchema = z.strictObject({
  property: z.string().min(1),
  type: z.enum(['event', 'person', 'organization']).default('event'),
  attribution: z.enum(['first_touch', 'last_touch', 'all_events', 'step']).default('first_touch'),
  /** With `attribution: step`: the (0-based) step whose event gives the value. */
  attributionStep: z.number().int().min(0).default(0),
});
export type Breakdown = z.output<typeof breakdownSchema>;

export const funnelSpecSchema = z
  .strictObject({
    kind: z.literal('funnel').default('funnel'),
    dateFrom: dateInput,
    dateTo: dateInput,
    interval: z.enum(['day', 'week', 'month']).optional(),
    steps: z.array(eventMatcherSchema).min(1).max(30),
    windowSeconds: z.number().int().positive().default(DEFAULT_WINDOW_SECONDS),
    order: z.enum(['ordered', 'strict', 'unordered']).default('ordered'),
    exclusions: z.array(exclusionSchema).default([]),
    breakdown: breakdownSchema.optional(),
    /** Drill-down: the people who reached (or dropped at) step `step` (0-based). */
    people: z
      .strictObject({
        step: z.number().int().min(0),
        status: z.enum(['reached', 'dropped']).default('reached'),
        breakdownValue: z.string().nullable().optional(),
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    const n = s.steps.length;
    s.exclusions.forEach((x, i) => {
      const to = x.toStep ?? n - 1;
      if (to >= n || to <= x.fromStep) {
        ctx.addIssue({
          code: 'custom',
          path: ['exclusions', i, 'toStep'],
          message: `must be after fromStep and below the number of steps (${n})`,
        });
      }
    });
    if (s.exclusions.length > 0 && s.order === 'unordered') {
      ctx.addIssue({ code: 'custom', path: ['exclusions'], message: 'not supported with order unordered' });
    }
    if (s.breakdown?.attribution === 'step') {
      if (s.breakdown.attributionStep >= n) {
        ctx.addIssue({
          code: 'custom',
          path: ['breakdown', 'attributionStep'],
          message: `must be below ${n}`,
        });
      }
      if (s.order === 'unordered') {
        ctx.addIssue({
          code: 'custom',
          path: ['breakdown', 'attribution'],
          message: 'step attribution needs an ordered or strict funnel',
        });
      }
    }
    if (s.people) {
      if (s.people.step >= n)
        ctx.addIssue({ code: 'custom', path: ['people', 'step'], message: `must be below ${n}` });
      if (s.people.status === 'dropped' && s.people.step === 0) {
        ctx.addIssue({ code: 'custom', path: ['people', 'step'], message: 'nobody drops at step 0' });
      }
    }
  });
export type FunnelSpec = z.input<typeof funnelSpecSchema>;
type Spec = z.output<typeof funnelSpecSchema>;

export interface FunnelStepResult {
  name: string;
  count: number;
  conversionFromPrevious: number | null;
  conversionFromFirst: number | null;
  medianSecondsFromPrevious: number | null;
  averageSecondsFromPrevious: number | null;
  /** Only with the `p90` option: the 90th percentile of seconds from the previous step. */
  p90SecondsFromPrevious?: number | null;
}
export interface FunnelResult {
  steps?: FunnelStepResult[];
  breakdowns?: { value: string | null; steps: FunnelStepResult[] }[];
  /** Only with the `people` option: person ids, sorted. */
  people?: string[];
}

/**
 * Options for code, not part of a user's spec (the onboarding deep dive uses them).
 * - `cohort`: SQL selecting `person_id, value`, one row per person: only these people are counted,
 *   each under its `value` as if it were the breakdown (e.g. signup month or ICP group), so the
 *   result has `breakdowns`. It may not be combined with the spec's `breakdown`.
 * - `p90`: each step also reports `p90SecondsFromPrevious` (type 7 quantile, like the median).
 */
export interface FunnelOptions {
  cohort?: Sql;
  p90?: boolean;
}

/** The value that stands for "no value" inside the all_events partition key (never shown). */
const NULL_GROUP = '\u0000null';

// ---- query -----------------------------------------------------------------------------------

function stepCols(n: number, f: (k: number) => Sql, from = 0): Sql[] {
  return Array.from({ length: n - from }, (_, i) => f(i + from));
}
const col = (name: string, k: number) => raw(`${name}${k}`);

/**
 * The events of the funnel with their step and exclusion flags. A person is `ph`, a 64-bit hash
 * of `person_id`: sorting and joining on it is cheap whatever the ids look like (emails, UUIDs);
 * two persons would share a key with probability below N²/2⁶⁵ for N persons (10⁻⁹ at 200,000).
 * `person_id` itself is carried only when the result names people (`ids`).
 */
function sqlEvents(d: Dialect, s: Spec, o: FunnelOptions, ids: boolean): Sql {
  const n = s.steps.length;
  const range = dateRange(s.dateFrom, s.dateTo);
  const b = s.breakdown;
  const bp = !b
    ? sql`CAST(NULL AS VARCHAR)`
    : b.type === 'event'
      ? d.sqlJsonString(raw('e.properties'), [b.property])
      : b.type === 'person'
        ? d.sqlJsonString(raw('p.properties'), [b.property])
        : d.sqlJsonString(raw('g.properties'), [b.property]);
  const joins =
    b?.type === 'person'
      ? sql` LEFT JOIN persons p ON p.person_id = e.person_id`
      : b?.type === 'organization'
        ? sql` LEFT JOIN groups g ON g.group_type = 'organization' AND g.group_key = e.organization`
        : sql``;
  // `grp` and `bp` are sorted with the rows only when they vary (`sqlWindowed` adds the constants).
  const grp = b?.attribution === 'all_events' ? sql`coalesce(${bp}, ${NULL_GROUP}) AS grp, ` : sql``;
  const inCohort = o.cohort ? sql` AND e.person_id IN (SELECT person_id FROM cohort)` : sql``;
  const head = sql`SELECT ${d.sqlHash64(raw('e.person_id'))} AS ph, ${ids ? sql`e.person_id, ` : sql``}${grp}${d.sqlEpochSeconds(raw('e.timestamp'))} AS t,
      ${b ? sql`${bp} AS bp, ` : sql``}`;
  const where = sql`${sqlInRange(raw('e.timestamp'), range)}${inCohort}`;
  const stepFlags = stepCols(n, (k) => col('s', k));
  const exclusionFlags = s.exclusions.map((_, i) => col('x', i));
  const byName = namesOnly(s);
  if (byName) {
    // Steps and exclusions are plain event names: one hash join with their table gives each
    // event its lowest step and flags (integer masks), instead of comparing every event's name
    // with every step's several times over.
    const flag = (mask: string, i: number) => d.sqlBitTest(raw(`st.${mask}`), i);
    const table = d.sqlValues(
      'st',
      ['name', 'ms', 'sm', 'xm'],
      [...byName].map(([name, f]) => [
        sql`${name}`,
        raw(String(f.lowest)),
        raw(String(f.steps)),
        raw(String(f.exclusions)),
      ]),
    );
    const flags = [
      ...stepFlags.map((c, k) => sql`${flag('sm', k)} AS ${c}`),
      ...exclusionFlags.map((c, i) => sql`${flag('xm', i)} AS ${c}`),
    ];
    return sql`${head}st.ms, ${join(flags)}
      FROM ${eventsWithPersons('e')} JOIN ${table} ON e.event = st.name${joins}
      WHERE ${where}`;
  }
  // Each step's and exclusion's condition (property filters parse JSON) is evaluated once per
  // event, as a flag; the lowest step, the mask and the filter are read from the flags.
  const flags = [
    ...s.steps.map((m, k) => sql`${sqlMatches(d, m, 'e')} AS ${col('s', k)}`),
    ...s.exclusions.map(
      (x, i) => sql`${sqlMatches(d, { event: x.event, properties: x.properties }, 'e')} AS ${col('x', i)}`,
    ),
  ];
  const lowest = sql`CASE ${join(
    stepFlags.map((c, k) => sql`WHEN ${c} THEN ${k} `),
    '',
  )}ELSE ${n} END`;
  const mask = overlapsByFilter(s)
    ? sql`, ${join(
        stepFlags.map((c, k) => sql`CASE WHEN ${c} THEN ${raw(String(2 ** k))} ELSE 0 END`),
        ' + ',
      )} AS sm`
    : sql``;
  const any = s.order === 'strict' ? sql`` : sql` WHERE ${join([...stepFlags, ...exclusionFlags], ' OR ')}`;
  return sql`SELECT *, ${lowest} AS ms${mask}
    FROM (${head}${join(flags)} FROM ${eventsWithPersons('e')}${joins} WHERE ${where})${any}`;
}

/**
 * When every step and exclusion is a bare event name (no property filter) and only matching
 * events are read (not strict): each name with the lowest step it matches and bit masks of the
 * steps and exclusions it matches. Undefined otherwise, or beyond 30 steps / 52 exclusions.
 */
function namesOnly(s: Spec): Map<string, { lowest: number; steps: number; exclusions: number }> | undefined {
  if (s.order === 'strict' || s.steps.length > 30 || s.exclusions.length > 52) return undefined;
  if (overlapsByFilter(s) || s.exclusions.some((x) => x.properties.length > 0)) return undefined;
  const names = new Map<string, { lowest: number; steps: number; exclusions: number }>();
  const entry = (name: string) => {
    const e = names.get(name) ?? { lowest: s.steps.length, steps: 0, exclusions: 0 };
    names.set(name, e);
    return e;
  };
  // Sums of distinct powers of two (JS bitwise operators stop at 32 bits).
  s.steps.forEach((m, k) => {
    const e = entry(m.event);
    e.lowest = Math.min(e.lowest, k);
    e.steps += 2 ** k;
  });
  s.exclusions.forEach((x, i) => {
    entry(x.event).exclusions += 2 ** i;
  });
  return names;
}

/**
 * Each person's events in funnel order (see the header); every window below shares this sort.
 * `grp` is in the partition only when it varies (all_events breakdowns): a constant key column
 * costs the sort a third more.
 */
function partitionOf(s: Spec): Sql[] {
  return s.breakdown?.attribution === 'all_events' ? [raw('ph'), raw('grp')] : [raw('ph')];
}
/**
 * Time, then the lowest step matched. Remaining ties are broken so that the result does not depend
 * on how the engine happened to sort them: when steps have property filters, two same-time events
 * with the same lowest step may match different later steps, so the one matching fewer (lower)
 * steps comes first (`sm`, the mask of steps matched); with `step` attribution, the smaller
 * breakdown value.
 */
function orderColsOf(s: Spec): Sql[] {
  return [
    raw('t'),
    raw('ms'),
    ...(overlapsByFilter(s) ? [raw('sm')] : []),
    ...(s.breakdown?.attribution === 'step' ? [raw('bp')] : []),
  ];
}
/** Some step has a property filter: one event may match steps another same-time event does not. */
function overlapsByFilter(s: Spec): boolean {
  return s.steps.some((m) => m.properties.length > 0);
}
function orderOf(s: Spec): Sql {
  return sql`PARTITION BY ${join(partitionOf(s))} ORDER BY ${join(orderColsOf(s))}`;
}

/**
 * `ev` plus, in one sorted pass, what each order needs to build attempts:
 * - ordered: `r{k}`, how many step-k events are at or before this one (`sqlRunningCounts`: the
 *   numbering may run across people, so it is only compared between rows of one person). The
 *   first step-k event after an event is then the step-k event numbered `r{k} + 1`, if it is the
 *   same person's: a hash-join key, no search;
 * - strict: `st{k}`/`sb{k}`, time and breakdown value of the event k places later when it is step k;
 * - unordered: `u{k}`, the first step-k event at or after this one, if within the window.
 */
function sqlWindowed(d: Dialect, s: Spec): Sql {
  const n = s.steps.length;
  const W = s.windowSeconds;
  const ORDER = orderOf(s);
  let extra: Sql[] = [];
  if (s.order === 'ordered') {
    // The attempt's identity `pos` is only read by the exclusion check.
    const counts = [
      ...(s.exclusions.length > 0 ? [{ when: raw('TRUE'), as: 'pos' }] : []),
      ...Array.from({ length: n }, (_, k) => ({ when: col('s', k), as: `r${k}` })).slice(
        prunesStarts(s) ? 0 : 1,
      ),
    ];
    return withConstants(
      s,
      d.sqlRunningCounts(raw('SELECT * FROM ev'), partitionOf(s), orderColsOf(s), counts),
    );
  } else if (s.order === 'strict') {
    const at = (k: number, what: string) =>
      sql`max(CASE WHEN ${col('s', k)} THEN ${raw(what)} END) OVER (${ORDER} ROWS BETWEEN ${raw(String(k))} FOLLOWING AND ${raw(String(k))} FOLLOWING)`;
    extra = stepCols(n, (k) => sql`${at(k, 't')} AS ${col('st', k)}, ${at(k, 'bp')} AS ${col('sb', k)}`, 1);
  } else {
    extra = stepCols(n, (k) => {
      const first = sql`min(CASE WHEN ${col('s', k)} THEN t END) OVER (${ORDER} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)`;
      return sql`CASE WHEN ${first} <= t + ${W} THEN ${first} END AS ${col('u', k)}`;
    });
  }
  return sql`SELECT *, ${join([sql`row_number() OVER (${ORDER}) AS pos`, ...extra])}
    FROM (${withConstants(s, raw('SELECT * FROM ev'))})`;
}

/** `grp` (a constant int hashes cheaply) and `bp` when `ev` leaves them out. */
function withConstants(s: Spec, rows: Sql): Sql {
  const consts = [
    ...(s.breakdown?.attribution === 'all_events' ? [] : [sql`0 AS grp`]),
    ...(s.breakdown ? [] : [sql`CAST(NULL AS VARCHAR) AS bp`]),
  ];
  return consts.length ? sql`SELECT *, ${join(consts)} FROM (${rows})` : rows;
}

/** One row per attempt: its start `p0`/`t0` and the candidate event times `t1…` of later steps. */
function sqlChains(d: Dialect, s: Spec, ids: boolean): Sql {
  const n = s.steps.length;
  const who = ids ? raw('ph, person_id') : raw('ph');
  if (s.order === 'strict') {
    return sql`SELECT ${who}, grp, pos AS p0, t AS t0, bp AS b0
        ${join(
          stepCols(n, (k) => sql`, ${col('st', k)} AS ${col('t', k)}, ${col('sb', k)} AS ${col('b', k)}`, 1),
          '',
        )}
      FROM pos WHERE s0`;
  }
  if (s.order === 'unordered') {
    // Step k of the attempt is the k-th smallest u: the least u_j with at least k+1 u's at or below it.
    const kth = (k: number) =>
      d.sqlLeast(
        stepCols(n, (j) => {
          const atOrBelow = join(
            stepCols(n, (i) => sql`CASE WHEN ${col('u', i)} <= ${col('u', j)} THEN 1 ELSE 0 END`),
            ' + ',
          );
          return sql`CASE WHEN ${atOrBelow} >= ${k + 1} THEN ${col('u', j)} END`;
        }),
      );
    return sql`SELECT ${who}, grp, pos AS p0, t AS t0, bp AS b0
        ${join(
          stepCols(n, (k) => sql`, ${kth(k)} AS ${col('t', k)}, CAST(NULL AS VARCHAR) AS ${col('b', k)}`, 1),
          '',
        )}
      FROM pos`;
  }
  // Ordered: from the start, hop to the next event of each step in turn, by its number `r{k}`.
  // Each hop reads a narrow relation: the step-k events with their number `r{k}`, the number
  // `r{k+1}` the next hop looks up, and (step 1, when pruning) the starts before them.
  const prune = prunesStarts(s);
  const stepBp = s.breakdown?.attribution === 'step';
  const hops = stepCols(
    n,
    (k) => {
      const c = col('c', k);
      const prev = k === 1 ? raw('a') : col('c', k - 1);
      const keep = [
        sql`ph, grp, t`,
        ...(stepBp ? [sql`bp`] : []),
        col('r', k),
        ...(k + 1 < n ? [col('r', k + 1)] : []),
        ...(k === 1 && prune ? [sql`r0 - CASE WHEN s0 THEN 1 ELSE 0 END AS q0`] : []),
      ];
      return sql` LEFT JOIN (SELECT ${join(keep)} FROM pos WHERE ${col('s', k)}) ${c}
        ON ${c}.ph = a.ph AND ${c}.grp = a.grp AND ${c}.${col('r', k)} = ${prev}.${col('r', k)} + 1`;
    },
    1,
  );
  const p0 = s.exclusions.length > 0 ? sql`a.pos` : sql`CAST(NULL AS BIGINT)`;
  const bpOf = (c: string) => (stepBp ? sql`${raw(c)}.bp` : sql`CAST(NULL AS VARCHAR)`);
  return sql`SELECT ${ids ? raw('a.ph AS ph, a.person_id AS person_id') : raw('a.ph AS ph')}, a.grp AS grp, ${p0} AS p0, a.t AS t0, ${bpOf('a')} AS b0
      ${join(
        stepCols(n, (k) => sql`, ${col('c', k)}.t AS ${col('t', k)}, ${bpOf(`c${k}`)} AS ${col('b', k)}`, 1),
        '',
      )}
    FROM pos a${join(hops, '')}
    WHERE a.s0${prune ? sql` AND (c1.r1 IS NULL OR c1.q0 = a.r0)` : sql``}`;
}

/**
 * Ordered funnels without exclusions keep only the last start before each step-1 event: an
 * earlier start with the same step-1 event follows the same events with a longer window to
 * fill, so it never gets further, and the best attempt prefers the later start anyway. (With
 * exclusions a later start's window can hold an exclusion the earlier one's does not.)
 */
function prunesStarts(s: Spec): boolean {
  return s.order === 'ordered' && s.exclusions.length === 0 && s.steps.length > 1;
}

/** How far an attempt got: steps 1… count while their event is within the window of the start. */
function sqlReached(n: number, W: number): Sql {
  let expr: Sql = raw(String(n));
  for (let k = n - 1; k >= 1; k--) {
    expr = sql`CASE WHEN ${col('t', k)} IS NOT NULL AND ${col('t', k)} - t0 <= ${W} THEN ${expr} ELSE ${raw(String(k))} END`;
  }
  return expr;
}

/** The attempt's exclusion check: an exclusion event strictly inside its `fromStep`…`toStep` span. */
function sqlCancelled(s: Spec): Sql {
  const n = s.steps.length;
  const W = s.windowSeconds;
  const conds = s.exclusions.map((x, i) => {
    const to = x.toStep ?? n - 1;
    const f = x.fromStep;
    return sql`(x.${col('x', i)} AND c.reached > ${f} AND x.t > c.${col('t', f)} AND (
        (c.reached > ${to} AND x.t < c.${col('t', to)}) OR (c.reached <= ${to} AND x.t <= c.t0 + ${W})))`;
  });
  // Its own column names: the attempts it cancels are joined back to \`chains\` on them.
  return sql`SELECT DISTINCT c.ph AS cph, c.grp AS cgrp, c.p0 AS cp0
    FROM chains c JOIN pos x ON x.ph = c.ph AND x.grp = c.grp
    WHERE ${join(conds, ' OR ')}`;
}

/** The breakdown value each person is counted under. */
function sqlPersonValue(d: Dialect, s: Spec, o: FunnelOptions): { value: Sql; joins: Sql; ctes: Sql[] } {
  if (o.cohort) {
    return {
      value: sql`co.value`,
      joins: sql` JOIN (SELECT ${d.sqlHash64(raw('person_id'))} AS ph, value FROM cohort) co ON co.ph = b.ph`,
      ctes: [],
    };
  }
  const b = s.breakdown;
  if (!b) return { value: sql`CAST(NULL AS VARCHAR)`, joins: sql``, ctes: [] };
  if (b.attribution === 'all_events') {
    return { value: sql`CASE WHEN b.grp = ${NULL_GROUP} THEN NULL ELSE b.grp END`, joins: sql``, ctes: [] };
  }
  if (b.attribution === 'step') {
    return {
      value: sql`CASE WHEN b.reached > ${b.attributionStep} THEN b.${col('b', b.attributionStep)} END`,
      joins: sql``,
      ctes: [],
    };
  }
  // first_touch / last_touch: the person's earliest / latest non-null value on any step event.
  const anyStep = join(
    s.steps.map((_, k) => col('s', k)),
    ' OR ',
  );
  const pick =
    b.attribution === 'first_touch' ? d.sqlArgMin(raw('bp'), raw('t')) : d.sqlArgMax(raw('bp'), raw('t'));
  return {
    value: sql`touch.v`,
    joins: sql` LEFT JOIN touch ON touch.ph = b.ph`,
    ctes: [
      sql`touch AS (SELECT ph, ${pick} AS v FROM pos WHERE bp IS NOT NULL AND (${anyStep}) GROUP BY ph)`,
    ],
  };
}

/**
 * Every CTE up to `per`: one row per counted person (`ph`, and `person_id` with `ids`) with
 * value, reached and step times.
 */
function sqlPerPerson(d: Dialect, s: Spec, o: FunnelOptions, ids: boolean): Sql {
  const n = s.steps.length;
  if (o.cohort && s.breakdown) throw new Error('a funnel takes a cohort or a breakdown, not both');
  const ctes: Sql[] = o.cohort ? [sql`cohort AS (${o.cohort})`] : [];
  // `pos` is read by every hop, the exclusion check and the count: numbered once (sqlRunningCounts).
  ctes.push(sql`ev AS (${sqlEvents(d, s, o, ids)})`, d.sqlMaterialized('pos', sqlWindowed(d, s)));
  ctes.push(
    sql`raw_chains AS (${sqlChains(d, s, ids)})`,
    sql`chains AS (SELECT *, ${sqlReached(n, s.windowSeconds)} AS reached FROM raw_chains)`,
  );
  const cancelled = s.exclusions.length > 0;
  if (cancelled) ctes.push(sql`cancelled AS (${sqlCancelled(s)})`);
  const tlast = sql`CASE reached ${join(
    stepCols(n, (k) => sql`WHEN ${k + 1} THEN ${col('t', k)} `),
    '',
  )}END`;
  const isCancelled = cancelled ? sql`CASE WHEN k.cp0 IS NULL THEN 0 ELSE 1 END` : sql`0`;
  // The times of the steps between the first and the last break the remaining ties: two chains
  // of one person with the same start and end can differ there (same-minute events, unordered
  // funnels), and which one a parallel sort met first changed the medians from run to run.
  const middle = stepCols(n, (k) => sql`, ${col('t', k)} ASC`, 1);
  ctes.push(sql`ranked AS (
    SELECT c.*, ${isCancelled} AS cancelled,
      row_number() OVER (PARTITION BY c.ph, c.grp
        ORDER BY c.reached DESC, ${isCancelled} ASC, ${tlast} ASC, c.t0 DESC${join(middle, '')}) AS rn
    FROM chains c${cancelled ? sql` LEFT JOIN cancelled k ON k.cph = c.ph AND k.cgrp = c.grp AND k.cp0 = c.p0` : sql``})`);
  ctes.push(sql`best AS (SELECT * FROM ranked WHERE rn = 1 AND cancelled = 0)`);
  const pv = sqlPersonValue(d, s, o);
  ctes.push(...pv.ctes);
  const times = stepCols(
    n,
    (k) => sql`, CASE WHEN b.reached > ${k} THEN b.${col('t', k)} END AS ${col('t', k)}`,
    1,
  );
  ctes.push(
    sql`per AS (SELECT b.ph, ${ids ? sql`b.person_id, ` : sql``}${pv.value} AS value, b.reached, b.t0 AS t0${join(times, '')} FROM best b${pv.joins})`,
  );
  return sql`WITH ${join(ctes, ',\n')}`;
}

/**
 * Per breakdown value of the per-person rows (`value`, `reached`, `t0`…): people at each step and
 * the median, average (and with `p90` the 90th percentile) seconds from the previous step.
 */
function sqlStepAggregates(d: Dialect, n: number, p90: boolean): Sql {
  return join(
    stepCols(n, (k) => {
      const count = sql`${d.sqlCountIf(sql`reached > ${k}`)} AS ${col('c', k)}`;
      if (k === 0) return count;
      const gap = sql`${col('t', k)} - ${col('t', k - 1)}`;
      const q90 = p90 ? sql`, ${d.sqlQuantile(gap, 0.9)} AS ${col('p90_', k)}` : sql``;
      return sql`${count}, ${d.sqlMedian(gap)} AS ${col('med', k)}, avg(${gap}) AS ${col('avg', k)}${q90}`;
    }),
  );
}

export function buildFunnelQuery(d: Dialect, s: Spec, o: FunnelOptions = {}): Sql {
  // `step_events` (the events the funnel read) is also the one reader of `pos` without a filter:
  // with every reader filtering, DuckDB pushes the OR of their filters into the materialized CTE,
  // where it re-tests every row in the single-threaded pipeline (0.35 s at 6M rows).
  return sql`${sqlPerPerson(d, s, o, false)}
    SELECT value, (SELECT count(*) FROM pos) AS step_events, ${sqlStepAggregates(d, s.steps.length, o.p90 ?? false)}
    FROM per GROUP BY value ORDER BY c0 DESC, value`;
}

export function buildFunnelPeopleQuery(d: Dialect, s: Spec, o: FunnelOptions = {}): Sql {
  const p = s.people!;
  const at = p.status === 'reached' ? sql`reached > ${p.step}` : sql`reached = ${p.step}`;
  const value =
    p.breakdownValue === undefined
      ? sql``
      : p.breakdownValue === null
        ? sql` AND value IS NULL`
        : sql` AND value = ${p.breakdownValue}`;
  return sql`${sqlPerPerson(d, s, o, true)}
    SELECT DISTINCT person_id FROM per WHERE ${at}${value} ORDER BY person_id`;
}

/**
 * One row per counted person: `person_id`, `value` (breakdown or cohort value), `reached` (how
 * many steps, ≥ 1) and `t0`…`t{n-1}`, each step's time in epoch seconds (NULL when not reached).
 * A whole statement, for other queries to use as a subquery (the onboarding deep dive asks what
 * the people who dropped at a step did instead).
 */
export function buildFunnelPersonsQuery(d: Dialect, spec: FunnelSpec, o: FunnelOptions = {}): Sql {
  const s = parseFunnelSpec(spec);
  const times = join(stepCols(s.steps.length, (k) => col('t', k)));
  return sql`${sqlPerPerson(d, s, o, true)}
    SELECT person_id, value, reached, ${times} FROM per`;
}

// ---- format ----------------------------------------------------------------------------------

type Row = Record<string, unknown>;

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function formatSteps(steps: readonly EventMatcher[], r: Row, p90 = false): FunnelStepResult[] {
  const counts = steps.map((_, k) => Number(r[`c${k}`] ?? 0));
  const first = counts[0] ?? 0;
  return steps.map((m, k) => {
    const count = counts[k] ?? 0;
    const prev = k === 0 ? first : (counts[k - 1] ?? 0);
    return {
      name: matcherName(m),
      count,
      conversionFromPrevious: prev > 0 ? count / prev : null,
      conversionFromFirst: first > 0 ? count / first : null,
      medianSecondsFromPrevious: k === 0 ? null : num(r[`med${k}`]),
      averageSecondsFromPrevious: k === 0 ? null : num(r[`avg${k}`]),
      ...(p90 ? { p90SecondsFromPrevious: k === 0 ? null : num(r[`p90_${k}`]) } : {}),
    };
  });
}

/** Pure: the query's rows (one per breakdown value) as the funnel result. */
export function formatFunnel(s: Spec, rows: readonly Row[], o: FunnelOptions = {}): FunnelResult {
  const p90 = o.p90 ?? false;
  if (!s.breakdown && !o.cohort) return { steps: formatSteps(s.steps, rows[0] ?? {}, p90) };
  return { breakdowns: formatBreakdowns(s, rows, p90) };
}

function formatBreakdowns(s: Spec, rows: readonly Row[], p90: boolean): FunnelResult['breakdowns'] {
  return rows.map((r) => ({
    value: typeof r.value === 'string' ? r.value : null,
    steps: formatSteps(s.steps, r, p90),
  }));
}

// ---- run ---------------------------------------------------------------------------------------

export function parseFunnelSpec(spec: unknown): Spec {
  return parseSpec(funnelSpecSchema, spec);
}

/**
 * Runs a funnel. The typed entry point for other code (the onboarding deep dive): `spec` is
 * validated like a user's, so a bad one throws `InputError` naming the field.
 */
export async function funnel(
  engine: Engine,
  spec: FunnelSpec,
  options: FunnelOptions = {},
): Promise<FunnelResult> {
  const s = parseFunnelSpec(spec);
  const rows = await engine.query(buildFunnelQuery(engine.dialect, s, options));
  const result = formatFunnel(s, rows, options);
  if (s.people) result.people = await funnelPeople(engine, s, options);
  return result;
}

/**
 * The funnel of per-person rows already computed: `persons` is a relation to read in FROM (`(…) AS
 * p` or a table) with `buildFunnelPersonsQuery`'s columns for the same spec, one breakdown per
 * `value`. The same result as `funnel` with the cohort those rows were computed for, without
 * reading the events again; a caller may regroup them (a new `value`) or keep some of them.
 */
export async function funnelOfPersons(
  engine: Engine,
  spec: FunnelSpec,
  persons: Sql,
  options: Pick<FunnelOptions, 'p90'> = {},
): Promise<FunnelResult> {
  const s = parseFunnelSpec(spec);
  const p90 = options.p90 ?? false;
  const rows = await engine.query(
    sql`SELECT value, ${sqlStepAggregates(engine.dialect, s.steps.length, p90)}
      FROM ${persons} GROUP BY value ORDER BY c0 DESC, value`,
  );
  return { breakdowns: formatBreakdowns(s, rows, p90) };
}

/** The person ids behind one step: who reached it, or who reached the one before but not it. */
export async function funnelPeople(
  engine: Engine,
  spec: FunnelSpec,
  options: FunnelOptions = {},
): Promise<string[]> {
  const s = parseFunnelSpec(spec);
  if (!s.people) throw new InputError('people drill-down needs `people: { step }`', { field: 'people' });
  const rows = await engine.query<{ person_id: string }>(buildFunnelPeopleQuery(engine.dialect, s, options));
  return rows.map((r) => r.person_id);
}

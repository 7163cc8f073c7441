/**
 * Per-organization facts the customer deep dives (top-customers, churn-reasons) read, each one
 * set-based query over a list of organizations and month windows:
 * - activity: distinct active people (activity events of the product, metrics/scope.ts) and key
 *   actions (config.keyActions; when none are configured, every activity event) per window;
 * - tickets: feedback rows of kind `ticket` per window (product-pinned rows as in metrics/feedback);
 * - NPS: 0–10 answers of the organization's people, from `nps` feedback rows and `survey sent`
 *   events (`$survey_response`), in one window;
 * - cancellations: feedback rows of kind `cancellation` in one window.
 * A window is a range of whole months [from, to], both included.
 *
 * A feedback row's organization: its own `organization`, else the organization its person
 * (`distinct_id`, identity-resolved) has the most events in, else the organization whose
 * `email_domain` group property is its e-mail's domain (as billing customers are linked).
 */
import { monthEnd, monthStart, type Month } from '../../domain/month.js';
import { sqlFeedbackInProduct } from '../../metrics/feedback/product.js';
import { surveyEvents } from '../../metrics/feedback/nps.js';
import { activityDays, dayNumber } from '../../metrics/activity-days.js';
import { join, raw, sql, type Sql } from '../../store/sql.js';
import type { DeepDiveContext } from './types.js';
import { eventsWithPersons } from '../../store/events.js';
import { sharedRelation } from '../../store/build-scope.js';

export interface MonthWindow {
  from: Month;
  to: Month;
}

export interface OrganizationActivity {
  /** Distinct active people per window, in the order of the windows asked. */
  users: number[];
  /** Key-action events per window. */
  keyActions: number[];
}

export interface OrganizationNps {
  responses: number;
  promoters: number;
  passives: number;
  detractors: number;
  meanScore: number;
}

/**
 * Each person of a feedback row without an organization, and the organization they have the
 * most events in: a scan of the events that several feedback queries of a build need alike.
 */
function sqlFeedbackPersonOrganizations(ctx: DeepDiveContext): Sql {
  const d = ctx.engine.dialect;
  return sql`
      SELECT person_id, ${d.sqlArgMax(raw('organization'), raw('n'))} AS organization
      FROM (
        SELECT person_id, organization, count(*) AS n FROM ${eventsWithPersons()}
        WHERE organization IS NOT NULL AND person_id IN (
          SELECT pd2.person_id FROM feedback f2 JOIN person_distinct_ids pd2 ON pd2.distinct_id = f2.distinct_id
          WHERE f2.organization IS NULL)
        GROUP BY person_id, organization
      ) x GROUP BY person_id`;
}

/**
 * `sqlFeedbackWithOrganization`'s person → organization relation: in a review build made once and
 * read by every feedback query of the dives (store/build-scope.ts), else a subquery.
 */
export function feedbackPersonOrganizations(ctx: DeepDiveContext): Promise<Sql> {
  return sharedRelation(
    ctx.engine,
    'feedback person organizations',
    sqlFeedbackPersonOrganizations(ctx),
    'po',
  );
}

/**
 * The feedback table with `organization` resolved (see the file comment), same column names.
 * `personOrganizations`: `feedbackPersonOrganizations` (default: its subquery).
 *
 * Rows with an organization and rows without are two branches of a UNION ALL, not one scan with
 * `f.organization IS NULL` in the join conditions: when the table holds no row without one,
 * DuckDB folds such a condition to `false` and joins by nested loops, every feedback row against
 * every person (1–2 CPU-s at 10M events, on one thread); the branch's WHERE it skips instead.
 */
export function sqlFeedbackWithOrganization(ctx: DeepDiveContext, personOrganizations?: Sql): Sql {
  const d = ctx.engine.dialect;
  const po = personOrganizations ?? sql`(${sqlFeedbackPersonOrganizations(ctx)}) AS po`;
  const columns = raw('f.id, f.kind, f.created_at, f.score, f.title, f.body, f.tags, f.status');
  return sql`
    SELECT ${columns}, f.organization AS organization
    FROM feedback f WHERE f.organization IS NOT NULL
    UNION ALL
    SELECT ${columns}, coalesce(po.organization, dm.organization) AS organization
    FROM feedback f
    LEFT JOIN person_distinct_ids pd ON pd.distinct_id = f.distinct_id
    LEFT JOIN ${po} ON po.person_id = pd.person_id
    LEFT JOIN (
      SELECT lower(${d.sqlJsonString(raw('properties'), ['email_domain'])}) AS domain, min(group_key) AS organization
      FROM groups WHERE group_type = 'organization' AND ${d.sqlJsonString(raw('properties'), ['email_domain'])} IS NOT NULL
      GROUP BY 1
    ) dm ON po.organization IS NULL AND dm.domain = lower(substring(f.email, position('@' IN f.email) + 1))
    WHERE f.organization IS NULL`;
}

function bounds(ctx: DeepDiveContext, w: MonthWindow): { from: Sql; to: Sql } {
  const d = ctx.engine.dialect;
  return {
    from: d.sqlTimestamp(sql`${monthStart(w.from).toISOString()}`),
    to: d.sqlTimestamp(sql`${monthEnd(w.to).toISOString()}`),
  };
}

function inList(column: Sql, values: readonly string[]): Sql {
  return sql`${column} IN (${join(values.map((v) => sql`${v}`))})`;
}

function span(windows: readonly MonthWindow[]): MonthWindow {
  const froms = windows.map((w) => w.from).sort();
  const tos = windows.map((w) => w.to).sort();
  return { from: froms[0] as Month, to: tos[tos.length - 1] as Month };
}

export async function activityByOrganization(
  ctx: DeepDiveContext,
  organizations: readonly string[],
  windows: readonly MonthWindow[],
): Promise<Map<string, OrganizationActivity>> {
  const out = new Map<string, OrganizationActivity>();
  if (organizations.length === 0 || windows.length === 0) return out;
  const all = span(windows);
  // Two stages: the activity days (metrics/activity-days.ts: (person, organization, day) with key
  // actions counted, shared by the build) → (organization, person, day), then windows over that
  // much smaller table, compared as integer day numbers (no per-row calendar function).
  const columns = windows.flatMap((w, i) => {
    const inWindow = sql`day >= ${dayNumber(monthStart(w.from))} AND day < ${dayNumber(monthEnd(w.to))}`;
    return [
      sql`count(DISTINCT CASE WHEN ${inWindow} THEN person_id END) AS ${raw(`u${i}`)}`,
      sql`sum(CASE WHEN ${inWindow} THEN k ELSE 0 END) AS ${raw(`k${i}`)}`,
    ];
  });
  const rows = await ctx.engine.query<Record<string, string | number>>(sql`
    WITH daily AS (
      SELECT organization, person_id, day, sum(key_actions) AS k
      FROM ${await activityDays(ctx)}
      WHERE ${inList(raw('organization'), organizations)}
        AND day >= ${dayNumber(monthStart(all.from))} AND day < ${dayNumber(monthEnd(all.to))}
      GROUP BY 1, 2, 3
    )
    SELECT organization, ${join(columns)} FROM daily GROUP BY organization`);
  for (const r of rows) {
    out.set(String(r.organization), {
      users: windows.map((_, i) => Number(r[`u${i}`] ?? 0)),
      keyActions: windows.map((_, i) => Number(r[`k${i}`] ?? 0)),
    });
  }
  return out;
}

/** Tickets opened per window, by organization. */
export async function ticketsByOrganization(
  ctx: DeepDiveContext,
  organizations: readonly string[],
  windows: readonly MonthWindow[],
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (organizations.length === 0 || windows.length === 0) return out;
  const columns = windows.map((w, i) => {
    const b = bounds(ctx, w);
    return sql`sum(CASE WHEN created_at >= ${b.from} AND created_at < ${b.to} THEN 1 ELSE 0 END) AS ${raw(`t${i}`)}`;
  });
  const inProduct = sqlFeedbackInProduct({ ...ctx, months: [ctx.month] }, raw('tags'));
  const rows = await ctx.engine.query<Record<string, string | number>>(sql`
    SELECT organization, ${join(columns)}
    FROM (${sqlFeedbackWithOrganization(ctx, await feedbackPersonOrganizations(ctx))}) fb
    WHERE kind = 'ticket' AND ${inList(raw('organization'), organizations)} AND ${inProduct}
    GROUP BY organization`);
  for (const r of rows) {
    out.set(
      String(r.organization),
      windows.map((_, i) => Number(r[`t${i}`] ?? 0)),
    );
  }
  return out;
}

/** NPS answers (0–10) of each organization's people in the window. */
export async function npsByOrganization(
  ctx: DeepDiveContext,
  organizations: readonly string[],
  window: MonthWindow,
): Promise<Map<string, OrganizationNps>> {
  const out = new Map<string, OrganizationNps>();
  if (organizations.length === 0) return out;
  const b = bounds(ctx, window);
  const inProduct = sqlFeedbackInProduct({ ...ctx, months: [ctx.month] }, raw('tags'));
  const rows = await ctx.engine.query<{
    organization: string;
    responses: number;
    promoters: number;
    passives: number;
    detractors: number;
    total: number;
  }>(sql`
    WITH answers AS (
      SELECT organization, score FROM (${sqlFeedbackWithOrganization(ctx, await feedbackPersonOrganizations(ctx))}) fb
      WHERE kind = 'nps' AND score IS NOT NULL AND created_at >= ${b.from} AND created_at < ${b.to}
        AND ${inList(raw('organization'), organizations)} AND ${inProduct}
      UNION ALL
      SELECT organization, score FROM ${await surveyEvents(ctx.engine)}
      WHERE timestamp >= ${b.from} AND timestamp < ${b.to} AND ${inList(raw('organization'), organizations)}
    )
    SELECT organization, count(*) AS responses,
      sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END) AS promoters,
      sum(CASE WHEN score >= 7 AND score < 9 THEN 1 ELSE 0 END) AS passives,
      sum(CASE WHEN score < 7 THEN 1 ELSE 0 END) AS detractors,
      sum(score) AS total
    FROM answers WHERE score IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    GROUP BY organization`);
  for (const r of rows) {
    const responses = Number(r.responses);
    out.set(r.organization, {
      responses,
      promoters: Number(r.promoters),
      passives: Number(r.passives),
      detractors: Number(r.detractors),
      meanScore: Number(r.total) / responses,
    });
  }
  return out;
}

export interface CancellationFeedback {
  organization: string | null;
  createdAt: string;
  title: string | null;
  body: string | null;
  /** [] when the row has none. */
  tags: string[];
}

/** Cancellation feedback rows created in [from, to) (ISO instants), optionally for some organizations. */
export async function cancellationFeedback(
  ctx: DeepDiveContext,
  from: Date,
  to: Date,
  organizations?: readonly string[],
): Promise<CancellationFeedback[]> {
  if (organizations?.length === 0) return [];
  const d = ctx.engine.dialect;
  const inProduct = sqlFeedbackInProduct({ ...ctx, months: [ctx.month] }, raw('tags'));
  const rows = await ctx.engine.query<{
    organization: string | null;
    created_at: string;
    title: string | null;
    body: string | null;
    tags: string[] | null;
  }>(sql`
    -- No tags: [] on both engines (a ClickHouse array cannot be NULL).
    SELECT organization, created_at, title, body, coalesce(tags, []) AS tags FROM (${sqlFeedbackWithOrganization(ctx, await feedbackPersonOrganizations(ctx))}) fb
    WHERE kind = 'cancellation'
      AND created_at >= ${d.sqlTimestamp(sql`${from.toISOString()}`)} AND created_at < ${d.sqlTimestamp(sql`${to.toISOString()}`)}
      AND ${organizations ? inList(raw('organization'), organizations) : raw('TRUE')} AND ${inProduct}
    ORDER BY created_at, id`);
  return rows.map((r) => ({
    organization: r.organization,
    createdAt: String(r.created_at),
    title: r.title,
    body: r.body,
    tags: r.tags ? [...r.tags] : [],
  }));
}

/** Relative change (b − a) / a, null when a is 0. */
export function relativeChange(before: number, after: number): number | null {
  return before === 0 ? null : (after - before) / before;
}

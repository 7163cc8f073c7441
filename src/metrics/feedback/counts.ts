/**
 * Feedback counts per month (docs/metrics.md#feedback), by `created_at` (UTC):
 *   tickets          = kind `ticket` opened in the month; `detail.byOrganization` per organization
 *   tickets_open     = tickets open at the month's end: created before it, and neither closed
 *                      before it (`closed_at`) nor, lacking a `closed_at`, in a closed status
 *                      (closed, resolved, solved, done, completed, canceled, cancelled) — such a
 *                      ticket's closing time is unknown, so it never counts as open
 *   feature_requests = kind `request`; `detail.themes`: the most requested themes — each tag is
 *                      a theme; an untagged request's theme is its title's significant words
 *   interviews       = kind `interview`
 */
import { monthEnd, monthStart, type Month } from '../../domain/month.js';
import { join, raw, sql } from '../../store/sql.js';
import type { MetricContext } from '../types.js';
import { PRODUCT_TAG_PREFIX, sqlFeedbackInProduct } from './product.js';
import { compareText } from '../../domain/order.js';

export const CLOSED_STATUSES = ['closed', 'resolved', 'solved', 'done', 'completed', 'canceled', 'cancelled'];

export type CountedKind = 'ticket' | 'request' | 'interview';

/** Rows of each kind per month, and which kinds exist at all in the store (for this product). */
export async function kindCounts(
  ctx: MetricContext,
): Promise<{ counts: Map<string, number>; kindsPresent: Set<string> }> {
  const d = ctx.engine.dialect;
  const inProduct = sqlFeedbackInProduct(ctx, raw('tags'));
  const rows = await ctx.engine.query<{ kind: string; m: string; n: number }>(sql`
    SELECT kind, ${d.sqlMonthKey(sql`created_at`)} AS m, count(*) AS n
    FROM feedback WHERE kind IN ('ticket', 'request', 'interview') AND ${inProduct}
    GROUP BY 1, 2`);
  const counts = new Map<string, number>();
  const kindsPresent = new Set<string>();
  for (const r of rows) {
    kindsPresent.add(r.kind);
    counts.set(`${r.kind} ${r.m}`, Number(r.n));
  }
  return { counts, kindsPresent };
}

/** One feedback row behind a count. */
export interface FeedbackRow {
  id: string;
  createdAt: string;
  organization: string | null;
  email: string | null;
  title: string | null;
  status: string | null;
}

/** The rows behind `tickets`/`feature_requests`/`interviews` of `month`, oldest first. */
export async function feedbackRowsIn(
  ctx: MetricContext,
  kind: CountedKind,
  month: Month,
): Promise<FeedbackRow[]> {
  const rows = await ctx.engine.query<{
    id: string;
    created_at: string;
    organization: string | null;
    email: string | null;
    title: string | null;
    status: string | null;
  }>(sql`
    SELECT id, created_at, organization, email, title, status FROM feedback
    WHERE kind = ${kind} AND ${sqlFeedbackInProduct(ctx, raw('tags'))}
      AND created_at >= ${monthStart(month)} AND created_at < ${monthEnd(month)}
    ORDER BY created_at, id`);
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    organization: r.organization,
    email: r.email,
    title: r.title,
    status: r.status,
  }));
}

export async function ticketsByOrganization(ctx: MetricContext): Promise<Map<Month, Record<string, number>>> {
  const d = ctx.engine.dialect;
  const rows = await ctx.engine.query<{ m: string; organization: string | null; n: number }>(sql`
    SELECT ${d.sqlMonthKey(sql`created_at`)} AS m, organization, count(*) AS n
    FROM feedback
    WHERE kind = 'ticket' AND ${sqlFeedbackInProduct(ctx, raw('tags'))}
      AND created_at >= ${monthStart(ctx.months[0] as Month)}
      AND created_at < ${monthEnd(ctx.months[ctx.months.length - 1] as Month)}
    GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`);
  const out = new Map<Month, Record<string, number>>();
  for (const r of rows) {
    const byOrg = out.get(r.m) ?? {};
    byOrg[r.organization ?? '(none)'] = Number(r.n);
    out.set(r.m, byOrg);
  }
  return out;
}

export async function ticketsOpenAtMonthEnd(ctx: MetricContext): Promise<Map<Month, number>> {
  const ends = join(
    ctx.months.map((m) => sql`SELECT ${m} AS m, ${monthEnd(m)} AS month_end, 1 AS k`),
    ' UNION ALL ',
  );
  const rows = await ctx.engine.query<{ m: string; n: number }>(sql`
    WITH ends AS (${ends}),
    tickets AS (
      SELECT created_at, closed_at, status, 1 AS k FROM feedback
      WHERE kind = 'ticket' AND ${sqlFeedbackInProduct(ctx, raw('tags'))}
    )
    SELECT e.m AS m, count(t.created_at) AS n
    FROM ends e LEFT JOIN tickets t
      -- The constant key \`k\`: ClickHouse needs an equality to join on beside the ranges.
      ON t.k = e.k AND t.created_at < e.month_end
     AND (t.closed_at IS NULL OR t.closed_at >= e.month_end)
     AND NOT (t.closed_at IS NULL AND coalesce(t.status, '') IN (${join(CLOSED_STATUSES.map((s) => sql`${s}`))}))
    GROUP BY e.m`);
  return new Map(rows.map((r) => [r.m, Number(r.n)]));
}

const STOPWORDS = new Set(
  (
    'a an the to for of in on at by with and or but not no be is are was it its this that these those ' +
    'we i you he she they our my your their us me them can could would should will shall may might must ' +
    'please pls add adding allow allowing able ability option options support supporting feature features ' +
    'request requests make want wanted need needs needed like have has get more better new some any ' +
    'way ways also just so from as into about there here when what which how would'
  ).split(' '),
);

/** A theme key for an untagged request: its title's significant words, lower-cased and sorted. */
export function titleTheme(title: string | null): string | null {
  if (!title) return null;
  const words = title
    .toLowerCase()
    .normalize('NFKD')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= 2 && !STOPWORDS.has(w));
  const unique = [...new Set(words)].sort();
  return unique.length ? unique.join(' ') : null;
}

export interface Theme {
  theme: string;
  requests: number;
}

/** The most requested themes per month (top `limit`, ties by name). Text is grouped in JS: request volumes are small. */
export async function requestThemes(ctx: MetricContext, limit = 5): Promise<Map<Month, Theme[]>> {
  const d = ctx.engine.dialect;
  const rows = await ctx.engine.query<{ m: string; title: string | null; tags: string[] | null }>(sql`
    SELECT ${d.sqlMonthKey(sql`created_at`)} AS m, title, tags
    FROM feedback
    WHERE kind = 'request' AND ${sqlFeedbackInProduct(ctx, raw('tags'))}
      AND created_at >= ${monthStart(ctx.months[0] as Month)}
      AND created_at < ${monthEnd(ctx.months[ctx.months.length - 1] as Month)}`);
  const perMonth = new Map<Month, Map<string, number>>();
  for (const r of rows) {
    const tags = (r.tags ?? []).filter((t) => !t.startsWith(PRODUCT_TAG_PREFIX));
    const themes = tags.length > 0 ? tags : [titleTheme(r.title) ?? '(untitled)'];
    const counts = perMonth.get(r.m) ?? new Map<string, number>();
    for (const t of new Set(themes)) counts.set(t, (counts.get(t) ?? 0) + 1);
    perMonth.set(r.m, counts);
  }
  const out = new Map<Month, Theme[]>();
  for (const [m, counts] of perMonth) {
    out.set(
      m,
      [...counts]
        .map(([theme, requests]) => ({ theme, requests }))
        .sort((a, b) => b.requests - a.requests || compareText(a.theme, b.theme))
        .slice(0, limit),
    );
  }
  return out;
}

/**
 * The monthly schedule as a use case: on the configured day and time (UTC) of each month, build
 * the reviews of the month before and send their summary (notify.ts). `runSchedule` is what the
 * server's timer calls (server/scheduler.ts); it decides from the clock it is given and from the
 * store's ledger (`schedule_runs`, `schedule_notifications`, migration 017), never from memory,
 * so a restart neither builds a finished review again nor posts its summary twice.
 *
 * A run that is due while the server is down is made when it comes back, in the same month; a
 * month whose day passed unnoticed until the next month began is left alone (its review would be
 * a month late, and the next run is due). A build that failed or was killed is retried at the
 * next check, up to MAX_ATTEMPTS times; so is a summary that could not be sent.
 */
import type { Config } from '../config/schema.js';
import { addMonths, monthOf, monthStart, type Month } from '../domain/month.js';
import type { Review } from '../domain/review.js';
import { sql } from '../store/sql.js';
import type { AppContext } from './context.js';
import type { Notifier } from './notify.js';
import { allProducts } from './products.js';
import { buildReviews, readReview } from './reviews.js';

/** Attempts at one build, or at sending one summary, before the schedule gives up on it. */
export const MAX_ATTEMPTS = 3;

export type ScheduleConfig = Config['server']['schedule'];

/** The instant in `month` its run is due: the configured day and time, UTC. */
export function dueIn(month: Month, s: Pick<ScheduleConfig, 'day' | 'time'>): Date {
  const [h, m] = s.time.split(':').map(Number) as [number, number];
  const start = monthStart(month);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), s.day, h, m));
}

export interface DueRun {
  /** The month whose reviews the run builds (the month before the one it runs in). */
  month: Month;
  dueAt: Date;
}

/** The run due at `now`: this month's, once its day and time have come; null before. */
export function dueRun(now: Date, s: Pick<ScheduleConfig, 'day' | 'time'>): DueRun | null {
  const here = monthOf(now);
  const dueAt = dueIn(here, s);
  return now.getTime() >= dueAt.getTime() ? { month: addMonths(here, -1), dueAt } : null;
}

/** When the next run is due after `now` (this month's if still ahead, else next month's). */
export function nextDue(now: Date, s: Pick<ScheduleConfig, 'day' | 'time'>): Date {
  const here = dueIn(monthOf(now), s);
  return now.getTime() < here.getTime() ? here : dueIn(addMonths(monthOf(now), 1), s);
}

export type Channel = 'slack' | 'email';

/** The ledger tables' keys (their primary keys; ClickHouse orders its ReplacingMergeTrees by them). */
const RUN_KEY = ['month', 'product'];
const NOTIFICATION_KEY = ['month', 'channel'];

/** A `schedule_runs` row as stored (timestamps as ISO text). */
interface ScheduleRunRow {
  month: Month;
  product: string;
  due_at: string;
  started_at: string;
  attempts: number;
  built_at: string | null;
  error: string | null;
}

export interface RunRow {
  month: Month;
  product: string;
  dueAt: string;
  startedAt: string;
  attempts: number;
  builtAt: string | null;
  error: string | null;
}

export interface NotificationRow {
  month: Month;
  channel: Channel;
  attempts: number;
  sentAt: string | null;
  error: string | null;
}

export interface ScheduleOutcome {
  /** The run that was due, or null when none is yet this month. */
  due: DueRun | null;
  /** Products built by this call. */
  built: string[];
  /** Products whose build failed in this call (the error is in the ledger). */
  failed: string[];
  /** Channels the summary was sent to by this call. */
  sent: Channel[];
  /** Channels that could not be sent to in this call. */
  unsent: Channel[];
}

export interface RunScheduleOptions {
  notifiers?: readonly Notifier[];
}

/** Makes the run that is due now, if any, as far as the ledger says it is not done yet. */
export async function runSchedule(ctx: AppContext, o: RunScheduleOptions = {}): Promise<ScheduleOutcome> {
  const s = ctx.config.server.schedule;
  const outcome: ScheduleOutcome = { due: null, built: [], failed: [], sent: [], unsent: [] };
  if (!s.enabled) return outcome;
  const due = dueRun(ctx.now(), s);
  outcome.due = due;
  if (!due) return outcome;
  const products = s.products.length ? s.products : allProducts(ctx.config);
  const runs = new Map((await scheduleRuns(ctx, due.month)).map((r) => [r.product, r]));

  for (const product of products) {
    const run = runs.get(product);
    if (run?.builtAt || (run && run.attempts >= MAX_ATTEMPTS)) continue;
    const attempts = (run?.attempts ?? 0) + 1;
    // Recorded before the build: a kill during it leaves a started, unfinished run to retry.
    // Whole rows through Engine.upsert (no ON CONFLICT, no UPDATE): on ClickHouse a newer version
    // of the (month, product) row, which its ReplacingMergeTree keeps.
    const started: ScheduleRunRow = {
      month: due.month,
      product,
      due_at: run?.dueAt ?? due.dueAt.toISOString(),
      started_at: ctx.now().toISOString(),
      attempts,
      built_at: null,
      error: null,
    };
    await ctx.engine.upsert('schedule_runs', [{ ...started }], RUN_KEY);
    try {
      await buildReviews(ctx, { month: due.month, products: [product] });
      await ctx.engine.upsert('schedule_runs', [{ ...started, built_at: ctx.now().toISOString() }], RUN_KEY);
      outcome.built.push(product);
      ctx.log(`schedule: built the ${product} review of ${due.month}`);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await ctx.engine.upsert('schedule_runs', [{ ...started, error: message }], RUN_KEY);
      outcome.failed.push(product);
      ctx.log(
        `schedule: the ${product} review of ${due.month} failed (attempt ${attempts} of ${MAX_ATTEMPTS}): ${message}`,
      );
    }
  }

  // The summary goes out once every review of the run is built.
  const notifiers = o.notifiers ?? [];
  if (notifiers.length === 0) return outcome;
  const after = await scheduleRuns(ctx, due.month);
  if (!products.every((p) => after.some((r) => r.product === p && r.builtAt))) return outcome;
  const reviews: Review[] = [];
  for (const p of products) {
    const r = await readReview(ctx, p, due.month);
    if (r) reviews.push(r);
  }
  const sent = new Map((await scheduleNotifications(ctx, due.month)).map((n) => [n.channel, n]));
  for (const n of notifiers) {
    const row = sent.get(n.channel);
    if (row?.sentAt || (row && row.attempts >= MAX_ATTEMPTS)) continue;
    const attempts = (row?.attempts ?? 0) + 1;
    let error: string | null = null;
    try {
      await n.send(reviews);
    } catch (e) {
      error = n.redact(e instanceof Error ? e.message : String(e));
    }
    const sentAt = error === null ? ctx.now().toISOString() : null;
    await ctx.engine.upsert(
      'schedule_notifications',
      [{ month: due.month, channel: n.channel, attempts, sent_at: sentAt, error }],
      NOTIFICATION_KEY,
    );
    if (error === null) {
      outcome.sent.push(n.channel);
      ctx.log(`schedule: sent the summary of ${due.month} to ${n.describe}`);
    } else {
      outcome.unsent.push(n.channel);
      ctx.log(
        `schedule: could not send the summary of ${due.month} to ${n.describe} (attempt ${attempts} of ${MAX_ATTEMPTS}): ${error}`,
      );
    }
  }
  return outcome;
}

export async function scheduleRuns(ctx: AppContext, month?: Month): Promise<RunRow[]> {
  const rows = await ctx.engine.query<{
    month: string;
    product: string;
    due_at: string;
    started_at: string;
    attempts: number;
    built_at: string | null;
    error: string | null;
  }>(
    month === undefined
      ? sql`SELECT * FROM schedule_runs ORDER BY month DESC, product`
      : sql`SELECT * FROM schedule_runs WHERE month = ${month} ORDER BY product`,
  );
  return rows.map((r) => ({
    month: r.month,
    product: r.product,
    dueAt: r.due_at,
    startedAt: r.started_at,
    attempts: Number(r.attempts),
    builtAt: r.built_at,
    error: r.error,
  }));
}

export async function scheduleNotifications(ctx: AppContext, month?: Month): Promise<NotificationRow[]> {
  const rows = await ctx.engine.query<{
    month: string;
    channel: Channel;
    attempts: number;
    sent_at: string | null;
    error: string | null;
  }>(
    month === undefined
      ? sql`SELECT * FROM schedule_notifications ORDER BY month DESC, channel`
      : sql`SELECT * FROM schedule_notifications WHERE month = ${month} ORDER BY channel`,
  );
  return rows.map((r) => ({
    month: r.month,
    channel: r.channel,
    attempts: Number(r.attempts),
    sentAt: r.sent_at,
    error: r.error,
  }));
}

export interface ScheduleStatus {
  enabled: boolean;
  day: number;
  time: string;
  products: string[];
  /** The next instant a run is due (ISO), when enabled. */
  next: string | null;
  /** Channels the summary goes to. */
  channels: Channel[];
  /** The latest runs and notifications, newest month first. */
  runs: RunRow[];
  notifications: NotificationRow[];
}

/** What the schedule is set to and what it did: `GET /api/schedule` and the grid's line. */
export async function scheduleStatus(ctx: AppContext): Promise<ScheduleStatus> {
  const s = ctx.config.server.schedule;
  const n = ctx.config.server.notify;
  const channels: Channel[] = [
    ...(n.slack ? ['slack' as const] : []),
    ...(n.email.to.length ? ['email' as const] : []),
  ];
  const runs = await scheduleRuns(ctx);
  const notifications = await scheduleNotifications(ctx);
  return {
    enabled: s.enabled,
    day: s.day,
    time: s.time,
    products: s.products.length ? s.products : allProducts(ctx.config),
    next: s.enabled ? nextDue(ctx.now(), s).toISOString() : null,
    channels,
    runs: runs.slice(0, 24),
    notifications: notifications.slice(0, 24),
  };
}

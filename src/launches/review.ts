/**
 * The review's "What we shipped" (SPEC §5 `launches[]`): the launches of the review month and the
 * three before — of the review's product, every product for `all` — judged as of the month's end
 * (judge.ts), each linked to the to-dos that name it: a to-do "Launch the onboarding checklist"
 * belongs to the launch titled "Onboarding checklist" (its title appears in the to-do's, ignoring
 * case), so the decision loop follows a to-do to what it shipped and what that did.
 */
import type { Config } from '../config/schema.js';
import { monthEnd, monthStart, type Month } from '../domain/month.js';
import type { LaunchReview } from '../domain/review.js';
import { listTodos } from '../review/decisions.js';
import type { Timings } from '../review/timings.js';
import type { Engine } from '../store/engine.js';
import { judgeLaunches } from './judge.js';
import { listLaunches } from './store.js';

/** Launches of the review month and this many months before it. */
export const LAUNCH_MONTHS_BEFORE = 3;

export interface LaunchesOfReviewOptions {
  engine: Engine;
  config: Config;
  product: string;
  month: Month;
  /** Where the time goes (`--timings`): each query of the launches timed on its own. */
  timings?: Timings;
}

export async function launchesOfReview(o: LaunchesOfReviewOptions): Promise<LaunchReview[]> {
  return linkLaunchTodos(o, await judgedLaunchesOfReview(o));
}

/** The launches of the review, judged; what only data, config and the launches decide (the review cache keeps it). */
export async function judgedLaunchesOfReview(
  o: LaunchesOfReviewOptions,
): Promise<Omit<LaunchReview, 'todos'>[]> {
  const launches = await listLaunches(o.engine, o.config, {
    product: o.product === 'all' ? undefined : o.product,
    month: o.month,
    monthsBefore: LAUNCH_MONTHS_BEFORE,
  });
  if (launches.length === 0) return [];
  return judgeLaunches(launches, {
    engine: o.engine,
    config: o.config,
    end: monthEnd(o.month),
    monthStart: monthStart(o.month),
    ...(o.timings ? { timings: o.timings } : {}),
  });
}

/** Each judged launch with the to-dos that name it (to-dos change between builds: never cached). */
export async function linkLaunchTodos(
  o: LaunchesOfReviewOptions,
  judged: readonly Omit<LaunchReview, 'todos'>[],
): Promise<LaunchReview[]> {
  if (judged.length === 0) return [];
  const todos = (await listTodos(o.engine)).filter((t) => t.month <= o.month);
  return judged.map((l) => {
    const title = l.title.toLowerCase();
    const linked = todos
      .filter(
        (t) =>
          (o.product === 'all' || t.product === l.product || t.product === 'all') &&
          t.title.toLowerCase().includes(title),
      )
      .map((t) => ({ id: t.id, month: t.month, title: t.title, status: t.status }));
    return { ...l, todos: linked };
  });
}

/**
 * The decision loop: the team lead's outcome on a review, the review's to-dos, and what the next
 * review shows of them (`previous`, SPEC §5). A decision or to-do names metrics by id — with
 * `--metric` or simply by writing the id in its text — and the next review shows how they moved.
 */
import type { Month } from '../domain/month.js';
import { addMonths } from '../domain/month.js';
import type { DecisionOutcome, Metric, PreviousReview, Todo } from '../domain/review.js';
import { InputError } from '../errors.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';

export const OUTCOMES: readonly DecisionOutcome[] = [
  'continue',
  'reprioritize',
  'change-goals',
  'new-projects',
];

/** Metric ids written in free text (`mrr`, `key_action:invite sent` is matched by its id only). */
export function metricIdsIn(text: string, knownIds: readonly string[]): string[] {
  const found = knownIds.filter((id) => {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(^|[^A-Za-z0-9_:])${escaped}($|[^A-Za-z0-9_])`).test(text);
  });
  return [...new Set(found)].sort();
}

export interface DecisionInput {
  product: string;
  month: Month;
  outcome: string;
  note: string | null;
  metricIds: string[];
  now?: Date;
}

export async function recordDecision(engine: Engine, d: DecisionInput): Promise<void> {
  if (!OUTCOMES.includes(d.outcome as DecisionOutcome)) {
    throw new InputError(`'${d.outcome}' is not one of ${OUTCOMES.join(', ')}`, { field: '--outcome' });
  }
  const at = d.now ?? new Date();
  await engine.upsert(
    'decisions',
    [
      {
        product: d.product,
        month: d.month,
        outcome: d.outcome,
        note: d.note,
        metric_ids: d.metricIds,
        decided_at: at,
      },
    ],
    ['product', 'month'],
  );
}

export interface TodoInput {
  product: string;
  month: Month;
  title: string;
  owner: string | null;
  metricIds: string[];
  now?: Date;
}

/**
 * To-do writes of one process go one at a time, so two to-dos added at once get different ids
 * (the next id is read, then written). Several processes writing to one ClickHouse server could
 * still race; to-dos are added by hand, one at a time.
 */
const todoWrites = new WeakMap<Engine, Promise<unknown>>();
function serially<T>(engine: Engine, fn: () => Promise<T>): Promise<T> {
  const next = (todoWrites.get(engine) ?? Promise.resolve()).then(fn, fn);
  todoWrites.set(
    engine,
    next.catch(() => undefined),
  );
  return next;
}

export function addTodo(engine: Engine, t: TodoInput): Promise<number> {
  if (!t.title.trim()) throw new InputError('a to-do needs a title', { field: '--title' });
  return serially(engine, async () => {
    const [row] = await engine.query<{ id: number }>(sql`SELECT coalesce(max(id), 0) + 1 AS id FROM todos`);
    const id = Number(row?.id ?? 1);
    await engine.upsert(
      'todos',
      [
        {
          id,
          product: t.product,
          month: t.month,
          title: t.title,
          owner: t.owner,
          metric_ids: t.metricIds,
          created_at: t.now ?? new Date(),
          done_at: null,
        },
      ],
      ['id'],
    );
    return id;
  });
}

export function markTodoDone(engine: Engine, id: number, now = new Date()): Promise<void> {
  return serially(engine, async () => {
    const [row] = await engine.query<TodoRow>(sql`SELECT * FROM todos WHERE id = ${id}`);
    if (!row) throw new InputError(`no to-do with id ${id}`, { field: 'ID' });
    if (row.done_at !== null) return;
    // The whole row again with its done_at: an upsert replaces the row (ClickHouse keeps the latest).
    await engine.upsert('todos', [{ ...row, metric_ids: row.metric_ids ?? [], done_at: now }], ['id']);
  });
}

interface TodoRow {
  id: number;
  product: string;
  month: string;
  title: string;
  owner: string | null;
  metric_ids: string[] | null;
  created_at: string;
  done_at: string | null;
}

function toTodo(r: TodoRow): Todo {
  return {
    id: r.id,
    title: r.title,
    owner: r.owner,
    status: r.done_at ? 'done' : 'open',
    createdAt: r.created_at,
    doneAt: r.done_at,
    metricIds: r.metric_ids ?? [],
  };
}

export async function listTodos(
  engine: Engine,
  filter: { product?: string; month?: Month } = {},
): Promise<(Todo & { product: string; month: Month })[]> {
  const rows = await engine.query<TodoRow>(
    sql`SELECT * FROM todos
        WHERE (${filter.product ?? null} IS NULL OR product = ${filter.product ?? null})
          AND (${filter.month ?? null} IS NULL OR month = ${filter.month ?? null})
        ORDER BY month, product, id`,
  );
  return rows.map((r) => ({ ...toTodo(r), product: r.product, month: r.month }));
}

/**
 * What the review of `month` shows of the last decided or to-do'd review before it: its decision,
 * every to-do with its status now, and how each named metric moved from that month to this one
 * (values read from this review's 13-month series).
 */
export async function previousReview(
  engine: Engine,
  product: string,
  month: Month,
  metrics: readonly Metric[],
): Promise<PreviousReview | null> {
  const [last] = await engine.query<{ month: string }>(
    sql`SELECT max(month) AS month FROM (
          SELECT month FROM decisions WHERE product = ${product} AND month < ${month}
          UNION ALL SELECT month FROM todos WHERE product = ${product} AND month < ${month})`,
  );
  const prevMonth = last?.month;
  if (!prevMonth) return null;
  const [d] = await engine.query<{
    outcome: DecisionOutcome;
    note: string | null;
    decided_at: string;
    metric_ids: string[] | null;
  }>(
    sql`SELECT outcome, note, decided_at, metric_ids FROM decisions WHERE product = ${product} AND month = ${prevMonth}`,
  );
  const todos = (await listTodos(engine, { product, month: prevMonth })).map(
    ({ product: _p, month: _m, ...t }) => t,
  );
  const named = new Set<string>([...(d?.metric_ids ?? []), ...todos.flatMap((t) => t.metricIds)]);
  const byId = new Map(metrics.map((m) => [m.id, m]));
  const metricsSince = [...named].sort().map((metricId) => {
    const m = byId.get(metricId);
    const then = m?.series.find((p) => p.month === prevMonth)?.value ?? null;
    const now = m?.series.find((p) => p.month === month)?.value ?? null;
    const change = then === null || now === null ? null : now - then;
    return { metricId, then, now, change };
  });
  return {
    month: prevMonth,
    decision: d
      ? { outcome: d.outcome, note: d.note, decidedAt: d.decided_at, metricIds: d.metric_ids ?? [] }
      : null,
    todos,
    metricsSince,
  };
}

/** The month before, for messages ("since 2026-09"). */
export const monthBefore = (m: Month): Month => addMonths(m, -1);

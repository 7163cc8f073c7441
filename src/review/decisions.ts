/**
 * The decision loop: the team lead's outcome on a review, the review's to-dos, and what the next
 * review shows of them (`previous`, SPEC §5). A decision or to-do names metrics by id — with
 * `--metric` or simply by writing the id in its text — and the next review shows how they moved.
 */
import type { Month } from '../domain/month.js';
import { addMonths } from '../domain/month.js';
import type { Decision, DecisionOutcome, Metric, PreviousReview, Todo } from '../domain/review.js';
import { InputError } from '../errors.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';
import { METRIC_IDS_KNOWN } from './metric-ids.js';

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

/**
 * The metrics a decision or to-do follows up: the ids given explicitly plus every known metric id
 * written in its text, sorted, each once. The one place free text is read for metric ids.
 */
export function namedMetricIds(explicit: readonly string[] | undefined, text: string | null): string[] {
  return [...new Set([...(explicit ?? []), ...metricIdsIn(text ?? '', METRIC_IDS_KNOWN)])].sort();
}

export interface DecisionInput {
  product: string;
  month: Month;
  outcome: string;
  note: string | null;
  /** Metrics named explicitly; ids written in the note are added. */
  metricIds?: readonly string[];
  now?: Date;
}

/** Records (or replaces) the decision on a review; returns it as stored. */
export async function recordDecision(engine: Engine, d: DecisionInput): Promise<Decision> {
  if (!OUTCOMES.includes(d.outcome as DecisionOutcome)) {
    throw new InputError(`'${d.outcome}' is not one of ${OUTCOMES.join(', ')}`, { field: 'outcome' });
  }
  const at = d.now ?? new Date();
  const metricIds = namedMetricIds(d.metricIds, d.note);
  const row = {
    product: d.product,
    month: d.month,
    outcome: d.outcome,
    note: d.note,
    metric_ids: metricIds,
    decided_at: at,
  };
  await engine.upsert('decisions', [row], ['product', 'month']);
  return { outcome: d.outcome as DecisionOutcome, note: d.note, decidedAt: at.toISOString(), metricIds };
}

/** The decision recorded on a review, if any. */
export async function getDecision(engine: Engine, product: string, month: Month): Promise<Decision | null> {
  const [d] = await engine.query<DecisionRow>(
    sql`SELECT outcome, note, decided_at, metric_ids FROM decisions WHERE product = ${product} AND month = ${month}`,
  );
  return d ? toDecision(d) : null;
}

/** Every decision of a product up to and including `month`, newest first. */
export async function listDecisions(
  engine: Engine,
  product: string,
  upTo: Month,
): Promise<(Decision & { month: Month })[]> {
  const rows = await engine.query<DecisionRow & { month: string }>(
    sql`SELECT month, outcome, note, decided_at, metric_ids FROM decisions
        WHERE product = ${product} AND month <= ${upTo} ORDER BY month DESC`,
  );
  return rows.map((r) => ({ month: r.month, ...toDecision(r) }));
}

interface DecisionRow {
  outcome: DecisionOutcome;
  note: string | null;
  decided_at: string;
  metric_ids: string[] | null;
}

function toDecision(d: DecisionRow): Decision {
  return { outcome: d.outcome, note: d.note, decidedAt: d.decided_at, metricIds: d.metric_ids ?? [] };
}

export interface TodoInput {
  product: string;
  month: Month;
  title: string;
  owner: string | null;
  /** Metrics named explicitly; ids written in the title are added. */
  metricIds?: readonly string[];
  now?: Date;
}

/**
 * To-do writes of one process go one at a time: a new id is read then written, and a change
 * reads the row then writes it whole (Engine.upsert: ClickHouse keeps the latest version, no
 * UPDATE). Several processes writing to one ClickHouse server could still race; to-dos are
 * written by hand, one at a time.
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
  if (!t.title.trim()) return Promise.reject(new InputError('a to-do needs a title', { field: 'title' }));
  return serially(engine, async () => {
    const [next] = await engine.query<{ id: number }>(sql`SELECT coalesce(max(id), 0) + 1 AS id FROM todos`);
    const id = Number(next?.id ?? 1);
    const row: TodoRow = {
      id,
      product: t.product,
      month: t.month,
      title: t.title,
      owner: t.owner,
      metric_ids: namedMetricIds(t.metricIds, t.title),
      created_at: (t.now ?? new Date()).toISOString(),
      done_at: null,
    };
    await engine.upsert('todos', [{ ...row }], ['id']);
    return id;
  });
}

/** Reads a to-do, changes it with `change`, and writes it back whole. */
function changeTodo(engine: Engine, id: number, change: (r: TodoRow) => TodoRow | null): Promise<void> {
  return serially(engine, async () => {
    const [row] = await engine.query<TodoRow>(
      sql`SELECT id, product, month, title, owner, metric_ids, created_at, done_at FROM todos WHERE id = ${id}`,
    );
    if (!row) throw new InputError(`no to-do with id ${id}`, { field: 'id' });
    const changed = change(row);
    if (changed) await engine.upsert('todos', [{ ...changed, metric_ids: changed.metric_ids ?? [] }], ['id']);
  });
}

export function markTodoDone(engine: Engine, id: number, now = new Date()): Promise<void> {
  return changeTodo(engine, id, (r) => (r.done_at === null ? { ...r, done_at: now.toISOString() } : null));
}

/** Un-ticks a to-do (open again). */
export function reopenTodo(engine: Engine, id: number): Promise<void> {
  return changeTodo(engine, id, (r) => ({ ...r, done_at: null }));
}

/** Sets (or, with null, clears) who owns a to-do. */
export function assignTodo(engine: Engine, id: number, owner: string | null): Promise<void> {
  const name = owner?.trim() ? owner.trim() : null;
  return changeTodo(engine, id, (r) => ({ ...r, owner: name }));
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
  const decision = await getDecision(engine, product, prevMonth);
  const todos = (await listTodos(engine, { product, month: prevMonth })).map(
    ({ product: _p, month: _m, ...t }) => t,
  );
  const named = [...(decision?.metricIds ?? []), ...todos.flatMap((t) => t.metricIds)];
  return { month: prevMonth, decision, todos, metricsSince: metricsSince(named, metrics, prevMonth, month) };
}

/**
 * How each named metric moved from `then` to `now`, read from a review's 13-month series (a
 * month outside the series, or a metric the review lacks, gives null values).
 */
export function metricsSince(
  metricIds: readonly string[],
  metrics: readonly Metric[],
  thenMonth: Month,
  nowMonth: Month,
): PreviousReview['metricsSince'] {
  const byId = new Map(metrics.map((m) => [m.id, m]));
  return [...new Set(metricIds)].sort().map((metricId) => {
    const m = byId.get(metricId);
    const then = m?.series.find((p) => p.month === thenMonth)?.value ?? null;
    const now = m?.series.find((p) => p.month === nowMonth)?.value ?? null;
    const change = then === null || now === null ? null : now - then;
    return { metricId, then, now, change };
  });
}

/** The month before, for messages ("since 2026-09"). */
export const monthBefore = (m: Month): Month => addMonths(m, -1);

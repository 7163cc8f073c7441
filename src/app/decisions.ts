/**
 * Use cases of the decision loop: record the team lead's decision on a review, add, assign and
 * tick its to-dos, and read them back — with the history of earlier decisions and how the
 * metrics they named moved since. Metric ids written in a note or title are found once, in
 * review/decisions.ts (`namedMetricIds`).
 */
import type { Month } from '../domain/month.js';
import type { Decision, Metric, PreviousReview, Todo } from '../domain/review.js';
import { InputError } from '../errors.js';
import * as loop from '../review/decisions.js';
import type { AppContext } from './context.js';
import { scopeOf } from './products.js';

export interface DecideInput {
  product: string;
  month: Month;
  outcome: string;
  note?: string | null;
  metricIds?: readonly string[];
}

export async function decide(ctx: AppContext, input: DecideInput): Promise<Decision> {
  scopeOf(ctx.config, input.product);
  const note = input.note?.trim() ? input.note : null;
  return ctx.exclusive((engine) => loop.recordDecision(engine, { ...input, note, now: ctx.now() }));
}

export interface AddTodoInput {
  product: string;
  month: Month;
  title: string;
  owner?: string | null;
  metricIds?: readonly string[];
}

export async function addTodo(ctx: AppContext, input: AddTodoInput): Promise<number> {
  scopeOf(ctx.config, input.product);
  const owner = input.owner?.trim() ? input.owner.trim() : null;
  return loop.addTodo(ctx.engine, { ...input, title: input.title.trim(), owner, now: ctx.now() });
}

/** A to-do id from text (a path segment, a CLI argument). */
export function todoId(text: string, field = 'id'): number {
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id <= 0) {
    throw new InputError(`'${text}' is not a to-do id`, { field });
  }
  return id;
}

/** Ticks (done) or un-ticks (open) a to-do. */
export async function setTodoDone(ctx: AppContext, id: number, done: boolean): Promise<void> {
  await ctx.exclusive((engine) =>
    done ? loop.markTodoDone(engine, id, ctx.now()) : loop.reopenTodo(engine, id),
  );
}

export async function assignTodo(ctx: AppContext, id: number, owner: string | null): Promise<void> {
  await ctx.exclusive((engine) => loop.assignTodo(engine, id, owner));
}

export function listTodos(
  ctx: AppContext,
  filter: { product?: string; month?: Month } = {},
): Promise<(Todo & { product: string; month: Month })[]> {
  return loop.listTodos(ctx.engine, filter);
}

export function getDecision(ctx: AppContext, product: string, month: Month): Promise<Decision | null> {
  return loop.getDecision(ctx.engine, product, month);
}

export interface PastDecision {
  month: Month;
  decision: Decision | null;
  todos: Todo[];
  /** How the metrics it named moved from its month to the month of the review read now. */
  metricsSince: PreviousReview['metricsSince'];
}

/**
 * The decisions and to-dos of the reviews before `month` (newest first), with how their metrics
 * moved up to `month`, read from that review's series (`metrics`: its 13 months).
 */
export async function decisionHistory(
  ctx: AppContext,
  product: string,
  month: Month,
  metrics: readonly Metric[],
): Promise<PastDecision[]> {
  const decisions = (await loop.listDecisions(ctx.engine, product, month)).filter((d) => d.month < month);
  const todos = (await loop.listTodos(ctx.engine, { product })).filter((t) => t.month < month);
  const months = [...new Set([...decisions.map((d) => d.month), ...todos.map((t) => t.month)])]
    .sort()
    .reverse();
  return months.map((m) => {
    const found = decisions.find((d) => d.month === m);
    const decision = found
      ? { outcome: found.outcome, note: found.note, decidedAt: found.decidedAt, metricIds: found.metricIds }
      : null;
    const its = todos.filter((t) => t.month === m).map(({ product: _p, month: _m, ...t }) => t);
    const named = [...(decision?.metricIds ?? []), ...its.flatMap((t) => t.metricIds)];
    return { month: m, decision, todos: its, metricsSince: loop.metricsSince(named, metrics, m, month) };
  });
}

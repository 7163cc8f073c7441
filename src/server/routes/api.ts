/**
 * The JSON API under `/api/` (behind the admin token, see auth.ts): the use cases of src/app/
 * — the same ones the CLI and the web UI call — on the server's context (server/context.ts: reads
 * statement by statement on the store queue, writes as one turn). Bodies are validated with zod;
 * a bad field is a 400 naming it.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { addTodo, assignTodo, decide, listTodos, setTodoDone, todoId } from '../../app/decisions.js';
import { monthlyMetrics } from '../../app/metrics.js';
import { monthInput, reviewProducts } from '../../app/products.js';
import { buildReviews, listReviews, readReview } from '../../app/reviews.js';
import { scheduleStatus } from '../../app/schedule.js';
import { lastCompleteMonth } from '../../domain/month.js';
import { decisionOutcomeSchema, monthSchema } from '../../domain/review.js';
import { InputError } from '../../errors.js';
import { parseSpec } from '../../insights/common.js';
import { runInsight } from '../../insights/run.js';
import type { ServerDeps } from '../app.js';
import { serverContext } from '../context.js';

const todoBody = z.strictObject({
  product: z.string().min(1),
  month: monthSchema,
  title: z.string().trim().min(1),
  owner: z.string().nullable().optional(),
  metricIds: z.array(z.string()).optional(),
});

const decisionBody = z.strictObject({
  product: z.string().min(1),
  month: monthSchema,
  outcome: decisionOutcomeSchema,
  note: z.string().nullable().optional(),
  metricIds: z.array(z.string()).optional(),
});

const ownerBody = z.strictObject({ owner: z.string().nullable() });

/**
 * `?cache=` of a review build: `false` builds from scratch, neither reading nor writing the review
 * cache (`sextant review --no-cache`); absent or `true`, a build reuses the cached part while the
 * data, config and code are unchanged (review/cache.ts).
 */
function cacheQuery(value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new InputError(`expected true or false, got ${JSON.stringify(value.slice(0, 40))}`, {
    field: 'cache',
  });
}

export function apiRoutes(d: ServerDeps): Hono {
  const app = new Hono();
  const ctx = serverContext(d);

  app.get('/reviews', async (c) => c.json(await listReviews(ctx.engine)));

  app.get('/reviews/:product/:month', async (c) => {
    const review = await readReview(ctx, c.req.param('product'), monthInput(c.req.param('month')));
    if (!review) return c.json({ error: 'no stored review for that product and month' }, 404);
    return c.json(review);
  });

  app.post('/reviews/:product/:month', async (c) => {
    const month = monthInput(c.req.param('month'));
    const products = reviewProducts(d.config, c.req.param('product'));
    const [built] = await buildReviews(ctx, { month, products, noCache: !cacheQuery(c.req.query('cache')) });
    return c.json(built!.review, 201);
  });

  app.get('/metrics', async (c) => {
    const month = monthInput(c.req.query('month') ?? lastCompleteMonth(d.now()));
    const product = c.req.query('product') ?? 'all';
    reviewProducts(d.config, product);
    const months = Number(c.req.query('months') ?? '13');
    return c.json(await monthlyMetrics(ctx, { month, product, months }));
  });

  app.get('/schedule', async (c) => c.json(await scheduleStatus(ctx)));

  app.post('/query', async (c) => c.json(await runInsight(ctx.engine, await jsonBody(c))));

  app.get('/todos', async (c) => {
    const m = c.req.query('month');
    const filter = { product: c.req.query('product'), month: m === undefined ? undefined : monthInput(m) };
    return c.json(await listTodos(ctx, filter));
  });

  app.post('/todos', async (c) => {
    const t = parseSpec(todoBody, await jsonBody(c));
    return c.json({ id: await addTodo(ctx, t) }, 201);
  });

  app.post('/todos/:id/done', async (c) => {
    const id = todoId(c.req.param('id'));
    await setTodoDone(ctx, id, true);
    return c.json({ id, status: 'done' });
  });

  app.post('/todos/:id/reopen', async (c) => {
    const id = todoId(c.req.param('id'));
    await setTodoDone(ctx, id, false);
    return c.json({ id, status: 'open' });
  });

  app.post('/todos/:id/owner', async (c) => {
    const id = todoId(c.req.param('id'));
    const { owner } = parseSpec(ownerBody, await jsonBody(c));
    await assignTodo(ctx, id, owner);
    return c.json({ id, owner: owner?.trim() ? owner.trim() : null });
  });

  app.post('/decisions', async (c) => {
    const b = parseSpec(decisionBody, await jsonBody(c));
    const decision = await decide(ctx, b);
    return c.json({ product: b.product, month: b.month, ...decision }, 201);
  });

  return app;
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { field: 'body' });
  }
}

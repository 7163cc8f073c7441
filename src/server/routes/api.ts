/**
 * The JSON API under `/api/` (behind the admin token, see auth.ts). Every store access runs on
 * the server's queue (store-queue.ts). The same functions as the
 * CLI: reviews (build.ts, store.ts), metrics (registry.ts + shape.ts), insights (runInsight), the
 * decision loop (decisions.ts). Bodies are validated with zod; a bad field is a 400 naming it.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Month } from '../../domain/month.js';
import { isMonth, lastCompleteMonth, monthsEndingAt } from '../../domain/month.js';
import type { Metric } from '../../domain/review.js';
import { InputError } from '../../errors.js';
import { parseSpec } from '../../insights/common.js';
import { runInsight } from '../../insights/run.js';
import { METRIC_FAMILIES } from '../../metrics/registry.js';
import { toMetric } from '../../metrics/shape.js';
import { productScope, type ProductScope } from '../../metrics/types.js';
import { buildReview } from '../../review/build.js';
import {
  addTodo,
  listTodos,
  markTodoDone,
  metricIdsIn,
  OUTCOMES,
  recordDecision,
} from '../../review/decisions.js';
import { METRIC_IDS_KNOWN } from '../../review/metric-ids.js';
import { loadReview, storeReview } from '../../review/store.js';
import type { ServerDeps } from '../app.js';
import { listReviews } from '../reviews.js';

const month = z.string().refine(isMonth, 'must be a month, YYYY-MM');

const todoBody = z.strictObject({
  product: z.string().min(1),
  month,
  title: z.string().trim().min(1),
  owner: z.string().nullable().optional(),
  metricIds: z.array(z.string()).optional(),
});

const decisionBody = z.strictObject({
  product: z.string().min(1),
  month,
  outcome: z.enum(OUTCOMES as [string, ...string[]]),
  note: z.string().nullable().optional(),
  metricIds: z.array(z.string()).optional(),
});

export function apiRoutes(d: ServerDeps): Hono {
  const app = new Hono();

  app.get('/reviews', async (c) => c.json(await d.queue.run(() => listReviews(d.engine))));

  app.get('/reviews/:product/:month', async (c) => {
    const m = monthParam(c.req.param('month'));
    const review = await d.queue.run(() => loadReview(d.engine, c.req.param('product'), m));
    if (!review) return c.json({ error: 'no stored review for that product and month' }, 404);
    return c.json(review);
  });

  app.post('/reviews/:product/:month', async (c) => {
    const m = monthParam(c.req.param('month'));
    const product = scope(d, c.req.param('product')).name;
    const review = await d.queue.run(async () => {
      const r = await buildReview({ engine: d.engine, config: d.config, product, month: m, now: d.now() });
      await storeReview(d.engine, r);
      return r;
    });
    return c.json(review, 201);
  });

  app.get('/metrics', async (c) => {
    const m = monthParam(c.req.query('month') ?? lastCompleteMonth(d.now()), 'month');
    const product = scope(d, c.req.query('product') ?? 'all');
    const n = Number(c.req.query('months') ?? '13');
    if (!Number.isInteger(n) || n < 1 || n > 120) {
      throw new InputError('must be a whole number from 1 to 120', { field: 'months' });
    }
    const months = monthsEndingAt(m, n);
    const metrics = await d.queue.run(async () => {
      const out: Metric[] = [];
      for (const family of METRIC_FAMILIES) {
        const values = await family.compute({ engine: d.engine, config: d.config, product, months });
        out.push(...values.map((v) => toMetric(v, months)));
      }
      return out;
    });
    return c.json(metrics);
  });

  app.post('/query', async (c) => {
    const spec = await jsonBody(c);
    return c.json(await d.queue.run(() => runInsight(d.engine, spec)));
  });

  app.get('/todos', async (c) => {
    const m = c.req.query('month');
    const filter = { product: c.req.query('product'), month: m === undefined ? undefined : monthParam(m) };
    return c.json(await d.queue.run(() => listTodos(d.engine, filter)));
  });

  app.post('/todos', async (c) => {
    const t = parseSpec(todoBody, await jsonBody(c));
    const metricIds = [
      ...new Set([...(t.metricIds ?? []), ...metricIdsIn(t.title, METRIC_IDS_KNOWN)]),
    ].sort();
    const id = await d.queue.run(() =>
      addTodo(d.engine, { ...t, owner: t.owner ?? null, metricIds, now: d.now() }),
    );
    return c.json({ id }, 201);
  });

  app.post('/todos/:id/done', async (c) => {
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id) || id <= 0) throw new InputError('not a to-do id', { field: 'id' });
    await d.queue.run(() => markTodoDone(d.engine, id, d.now()));
    return c.json({ id, status: 'done' });
  });

  app.post('/decisions', async (c) => {
    const b = parseSpec(decisionBody, await jsonBody(c));
    const note = b.note ?? null;
    const metricIds = [
      ...new Set([...(b.metricIds ?? []), ...metricIdsIn(note ?? '', METRIC_IDS_KNOWN)]),
    ].sort();
    await d.queue.run(() => recordDecision(d.engine, { ...b, note, metricIds, now: d.now() }));
    return c.json({ product: b.product, month: b.month, outcome: b.outcome, note, metricIds }, 201);
  });

  return app;
}

function monthParam(value: string, field = 'month'): Month {
  if (!isMonth(value)) throw new InputError(`'${value}' is not a month (YYYY-MM)`, { field });
  return value;
}

function scope(d: ServerDeps, product: string): ProductScope {
  try {
    return productScope(d.config, product);
  } catch (e) {
    throw new InputError((e as Error).message, { field: 'product' });
  }
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { field: 'body' });
  }
}

/**
 * The web app (SPEC §7): what the CLI does for a review, in a browser, behind the admin token.
 * `/login` signs in (a signed session cookie, auth.ts); then `/` is the months × products grid,
 * `/reviews/:product/:month` the meeting's page (decision, to-dos, previous decisions and how
 * their metrics moved, metrics and findings with drill-down), `…/document` the same HTML
 * document `sextant review` writes, `…/drill` the customers or users behind a number, and
 * `/insights` ad-hoc funnels, retention and trends. Every page is server-rendered HTML with
 * forms (no scripts; server/ui/); every form post is checked for CSRF (same-origin) and answered
 * with a redirect. All of it calls the use cases of src/app/, as the CLI does.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import {
  addTodo,
  assignTodo,
  decide,
  decisionHistory,
  getDecision,
  listTodos,
  setTodoDone,
  todoId,
} from '../../app/decisions.js';
import { drillFinding, drillMetric } from '../../app/drilldown.js';
import { monthInput, reviewProducts } from '../../app/products.js';
import { buildReviews, readReview, reviewGrid } from '../../app/reviews.js';
import { scheduleStatus } from '../../app/schedule.js';
import { isoDay } from '../../domain/month.js';
import { InputError } from '../../errors.js';
import { runInsight } from '../../insights/run.js';
import { html } from '../../render/escape.js';
import { renderHtml } from '../../render/html.js';
import { sql } from '../../store/sql.js';
import type { ServerDeps } from '../app.js';
import { endSession, localPath, requireAdmin, sameOriginForms, sameSecret, startSession } from '../auth.js';
import { serverContext } from '../context.js';
import { drillPage } from '../ui/drill.js';
import { gridPage } from '../ui/grid.js';
import { INSIGHT_FORMS, insightsPage, specFromForm, type InsightForm } from '../ui/insights.js';
import { page, PAGE_HEADERS, reviewPath } from '../ui/layout.js';
import { loginPage } from '../ui/login.js';
import { reviewPage } from '../ui/review.js';

/** Fixed messages a redirect may ask a page to show (never text from the request). */
const FLASH: Record<string, string> = {
  built: 'The review was built from the data in the store now.',
  decision: 'Decision recorded.',
  todo: 'To-do added.',
};

export function uiRoutes(d: ServerDeps): Hono {
  const app = new Hono();
  const ctx = serverContext(d);
  const guard = requireAdmin(d.adminToken, 'ui', d.now);
  const send = (c: Context, body: string, status: 200 | 400 | 404 = 200) =>
    c.html(body, status, PAGE_HEADERS);
  const fail = (c: Context, message: string, status: 400 | 404) =>
    send(
      c,
      page({
        title: status === 404 ? 'Not found' : 'Not done',
        body: html`<h1>${status === 404 ? 'Not found' : 'That did not work'}</h1>
          <div class="error" role="alert">${message}</div>
          <p><a href="/">All reviews</a></p>`,
      }),
      status,
    );

  // Bad input in a form is a page saying what, not the API's JSON.
  app.onError((err, c) => {
    if (err instanceof InputError) return fail(c, err.message, 400);
    throw err;
  });

  app.get('/login', (c) => send(c, loginPage(localPath(c.req.query('next')), c.req.query('failed') === '1')));

  app.post('/login', sameOriginForms, async (c) => {
    const form = await c.req.parseBody();
    const next = localPath(typeof form.next === 'string' ? form.next : undefined);
    const token = typeof form.token === 'string' ? form.token : '';
    if (!sameSecret(token, d.adminToken)) return send(c, loginPage(next, true), 400);
    await startSession(c, d.adminToken, d.now());
    return c.redirect(next, 303);
  });

  app.post('/logout', sameOriginForms, (c) => {
    endSession(c);
    return c.redirect('/login', 303);
  });

  for (const path of ['/', '/reviews/*', '/todos/*', '/insights']) app.use(path, guard);

  app.get('/', async (c) => {
    const flash = c.req.query('flash');
    return send(
      c,
      gridPage(await reviewGrid(ctx), flash ? FLASH[flash] : undefined, await scheduleStatus(ctx)),
    );
  });

  app.post('/reviews/:product/:month/build', async (c) => {
    const { product, month } = reviewParams(c);
    await buildReviews(ctx, { month, products: reviewProducts(d.config, product) });
    return c.redirect(`${reviewPath(product, month)}?flash=built`, 303);
  });

  app.get('/reviews/:product/:month', async (c) => {
    const { product, month } = reviewParams(c);
    const review = await readReview(ctx, product, month);
    if (!review) {
      return send(
        c,
        page({
          title: 'No review yet',
          body: html`<h1>${product} · ${month}</h1>
            <p>There is no stored review of ${product} for ${month} yet.</p>
            <form method="post" action="${reviewPath(product, month, '/build')}">
              <button>Build it now</button>
            </form>
            <p><a href="/">All reviews</a></p>`,
          section: 'reviews',
        }),
        404,
      );
    }
    const [decision, todos, history] = [
      await getDecision(ctx, product, month),
      (await listTodos(ctx, { product, month })).map(({ product: _p, month: _m, ...t }) => t),
      await decisionHistory(ctx, product, month, review.metrics),
    ];
    const flash = c.req.query('flash');
    return send(c, reviewPage({ review, decision, todos, history, flash: flash ? FLASH[flash] : undefined }));
  });

  app.get('/reviews/:product/:month/document', async (c) => {
    const { product, month } = reviewParams(c);
    const review = await readReview(ctx, product, month);
    if (!review) return fail(c, `No stored review of ${product} for ${month}.`, 404);
    // The renderer's page as it is: it carries its own Content-Security-Policy.
    return c.html(renderHtml(review), 200, {
      'Referrer-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
    });
  });

  app.post('/reviews/:product/:month/decision', async (c) => {
    const { product, month } = reviewParams(c);
    const form = await c.req.parseBody({ all: true });
    await decide(ctx, {
      product,
      month,
      outcome: field(form, 'outcome'),
      note: field(form, 'note'),
      metricIds: metricIds(form),
    });
    return c.redirect(`${reviewPath(product, month)}?flash=decision#decision`, 303);
  });

  app.post('/reviews/:product/:month/todos', async (c) => {
    const { product, month } = reviewParams(c);
    const form = await c.req.parseBody({ all: true });
    await addTodo(ctx, {
      product,
      month,
      title: field(form, 'title'),
      owner: field(form, 'owner'),
      metricIds: metricIds(form),
    });
    return c.redirect(`${reviewPath(product, month)}?flash=todo#todos`, 303);
  });

  app.post('/todos/:id/:action{done|reopen|owner}', async (c) => {
    const id = todoId(c.req.param('id'));
    const form = await c.req.parseBody();
    const action = c.req.param('action');
    if (action === 'owner') await assignTodo(ctx, id, field(form, 'owner'));
    else await setTodoDone(ctx, id, action === 'done');
    return c.redirect(localPath(field(form, 'back') || undefined), 303);
  });

  app.get('/reviews/:product/:month/drill', async (c) => {
    const { product, month } = reviewParams(c);
    const dive = c.req.query('dive');
    let drill;
    if (dive !== undefined) {
      const review = await readReview(ctx, product, month);
      if (!review) return fail(c, `No stored review of ${product} for ${month}.`, 404);
      drill = await drillFinding(ctx, review, dive, Number(c.req.query('finding') ?? 'NaN'));
    } else {
      const metricId = c.req.query('metric') ?? '';
      const cellMonth = monthInput(c.req.query('month') ?? month);
      const review = await readReview(ctx, product, month);
      const label = review?.metrics.find((m) => m.id === metricId)?.label;
      drill = await drillMetric(ctx, { product, month: cellMonth, metricId, label });
    }
    if (!drill) return fail(c, 'There is no list of customers or users behind that number.', 404);
    return send(c, drillPage(product, month, drill));
  });

  app.get('/insights', async (c) => {
    const query = c.req.query();
    const kind: InsightForm = (INSIGHT_FORMS as readonly string[]).includes(query.kind ?? '')
      ? (query.kind as InsightForm)
      : 'retention';
    const rows = await ctx.engine.query<{ event: string }>(
      sql`SELECT event FROM events GROUP BY event ORDER BY count(*) DESC, event LIMIT 200`,
    );
    const now = d.now();
    // Retention without dateFrom shows the `totalIntervals` periods ending at dateTo (PostHog's way).
    const defaults = {
      dateFrom: kind === 'retention' ? '' : isoDay(new Date(now.getTime() - 90 * 86_400_000)),
      dateTo: isoDay(new Date(now.getTime() - 86_400_000)),
    };
    const data = { kind, query, events: rows.map((r) => r.event), defaults };
    if (query.run === undefined) return send(c, insightsPage(data));
    const spec = specFromForm(kind, { dateFrom: defaults.dateFrom, dateTo: defaults.dateTo, ...query });
    try {
      const result = await runInsight(ctx.engine, spec);
      return send(c, insightsPage({ ...data, result, spec }));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return send(c, insightsPage({ ...data, spec, error: e.message }), 400);
    }
  });

  return app;
}

function reviewParams(c: Context): { product: string; month: string } {
  return { product: c.req.param('product') ?? '', month: monthInput(c.req.param('month') ?? '') };
}

function field(form: Record<string, unknown>, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

/**
 * The metric ids of a form: picked in the page's list (one `metrics` field each), or typed into
 * one field, comma-separated (an id may hold spaces: `key_action:invite sent`).
 */
function metricIds(form: Record<string, unknown>): string[] {
  const v = form.metrics;
  const values = Array.isArray(v)
    ? v.filter((x): x is string => typeof x === 'string')
    : [field(form, 'metrics')];
  return values.flatMap(ids);
}

function ids(text: string): string[] {
  return text
    .split(/[,\n]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

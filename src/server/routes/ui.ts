/**
 * The web UI (behind the admin token, see auth.ts): `/` lists the stored reviews, and
 * `/reviews/:product/:month` serves a stored review as the same HTML `sextant review` writes
 * (render/html.ts). Every value is escaped by render/escape.ts's html``.
 */
import { Hono } from 'hono';
import { renderHtml } from '../../render/html.js';
import { html } from '../../render/escape.js';
import { readReview, listReviews } from '../../app/reviews.js';
import type { ServerDeps } from '../app.js';
import { serverContext } from '../context.js';

const SECURITY_HEADERS = { 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' };

export function uiRoutes(d: ServerDeps): Hono {
  const app = new Hono();
  const ctx = serverContext(d);

  app.get('/', async (c) => {
    const reviews = await listReviews(ctx.engine);
    const rows = reviews.map(
      (r) =>
        html`<li>
          <a href="/reviews/${encodeURIComponent(r.product)}/${encodeURIComponent(r.month)}"
            >${r.month} · ${r.product}</a
          >
          <small>generated ${r.generatedAt}</small>
        </li>`,
    );
    const page = html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>Sextant — reviews</title>
          <meta name="viewport" content="width=device-width, initial-scale=1" />
        </head>
        <body>
          <h1>Growth reviews</h1>
          ${
            rows.length
              ? html`<ul>
                  ${rows}
                </ul>`
              : html`<p>
                  No stored reviews yet: run <code>sextant review</code> or
                  <code>POST /api/reviews/:product/:month</code>.
                </p>`
          }
        </body>
      </html>`;
    return c.html(page.html, 200, SECURITY_HEADERS);
  });

  app.get('/reviews/:product/:month', async (c) => {
    const review = await readReview(ctx, c.req.param('product'), c.req.param('month'));
    if (!review) {
      const page = html`<!doctype html><meta charset="utf-8" /><title>Not found</title>
        <p>
          No stored review of ${c.req.param('product')} for ${c.req.param('month')}.
          <a href="/">All reviews</a>
        </p>`;
      return c.html(page.html, 404, SECURITY_HEADERS);
    }
    return c.html(renderHtml(review), 200, SECURITY_HEADERS);
  });

  return app;
}

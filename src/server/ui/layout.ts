/**
 * The web app's page shell: one stylesheet, the navigation, and the headers every page is sent
 * with. Pages are plain server-rendered HTML with forms — no scripts at all, which the
 * Content-Security-Policy enforces — and every value goes through render/escape.ts's html``.
 */
import { html, trustedHtml, type SafeHtml } from '../../render/escape.js';

/** No scripts, no outside resources; forms post only to this server; no framing. */
export const APP_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'";

/**
 * `same-origin`: a referrer only to this server, so browsers send an `Origin` on our own form
 * posts (the CSRF check reads it; `no-referrer` makes it `null`).
 */
export const PAGE_HEADERS = {
  // frame-ancestors works only as a header, not in the page's <meta>.
  'Content-Security-Policy': `${APP_CSP}; frame-ancestors 'none'`,
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

const CSS = `
:root { --ink:#1d2433; --muted:#5b6475; --line:#d9dee7; --soft:#f4f6fa; --accent:#2456c9; --good:#1a7f4b; --bad:#b3261e; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:#fff; }
header.app { display:flex; align-items:center; gap:1.2rem; padding:.6rem 1.5rem; border-bottom:1px solid var(--line); background:var(--soft); }
header.app .brand { font-weight:700; letter-spacing:.02em; }
header.app nav { display:flex; gap:1rem; flex:1; }
header.app a { color:var(--ink); text-decoration:none; }
header.app a:hover, header.app a[aria-current] { color:var(--accent); text-decoration:underline; }
main { max-width:1320px; margin:0 auto; padding:1.2rem 1.5rem 3rem; }
h1 { font-size:1.5rem; margin:.2rem 0 .8rem; } h2 { font-size:1.15rem; margin:1.6rem 0 .6rem; } h3 { font-size:1rem; margin:1rem 0 .4rem; }
p.lead { color:var(--muted); margin-top:0; }
a { color:var(--accent); }
table { border-collapse:collapse; width:100%; margin:.4rem 0 1rem; }
th, td { border-bottom:1px solid var(--line); padding:.35rem .5rem; text-align:left; vertical-align:top; }
th { background:var(--soft); font-weight:600; font-size:.88rem; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.scroll { overflow-x:auto; }
table.metrics { font-size:.86rem; } table.metrics td:first-child { white-space:nowrap; min-width:11rem; }
.panel h2 { margin-top:0; }
.scroll table td:first-child, .scroll table th:first-child { position:sticky; left:0; background:#fff; }
.scroll table th:first-child { background:var(--soft); }
.badge { display:inline-block; padding:.05rem .45rem; border-radius:.7rem; font-size:.8rem; background:var(--soft); border:1px solid var(--line); }
.badge.continue { color:var(--good); } .badge.reprioritize, .badge.change-goals { color:var(--warn); } .badge.new-projects { color:var(--accent); }
.up { color:var(--good); } .down { color:var(--bad); } .muted { color:var(--muted); }
.cell { display:flex; flex-direction:column; gap:.25rem; align-items:flex-start; }
form.inline { display:inline; margin:0; }
button { font:inherit; padding:.3rem .8rem; border:1px solid var(--accent); background:var(--accent); color:#fff; border-radius:.3rem; cursor:pointer; }
button.quiet { background:#fff; color:var(--accent); }
button.small { padding:.1rem .5rem; font-size:.85rem; }
input, select, textarea { font:inherit; padding:.3rem .4rem; border:1px solid var(--line); border-radius:.3rem; }
textarea { width:100%; min-height:4.5rem; }
label { display:block; font-size:.88rem; color:var(--muted); margin:.4rem 0 .15rem; }
fieldset { border:1px solid var(--line); border-radius:.4rem; padding:.6rem 1rem 1rem; margin:0 0 1rem; }
legend { font-weight:600; padding:0 .3rem; }
.row { display:flex; gap:1rem; flex-wrap:wrap; align-items:flex-end; }
.row > div { min-width:10rem; }
.row.top { align-items:flex-start; }
.row.top > div > button { margin-top:1.6rem; }
.columns { display:grid; grid-template-columns:1fr 1fr; gap:1.5rem; }
@media (max-width: 900px) { .columns { grid-template-columns:1fr; } }
.panel { border:1px solid var(--line); border-radius:.5rem; padding:.8rem 1rem; background:#fff; }
.flash { padding:.5rem .8rem; border-radius:.4rem; background:#eef6ee; border:1px solid #b7dcb9; margin-bottom:1rem; }
.error { padding:.5rem .8rem; border-radius:.4rem; background:#fdeeee; border:1px solid #f0b8b4; margin-bottom:1rem; }
ul.todos { list-style:none; padding:0; margin:0; }
ul.todos li { display:flex; gap:.6rem; align-items:center; padding:.35rem 0; border-bottom:1px solid var(--line); flex-wrap:wrap; }
ul.todos li.done .title { text-decoration:line-through; color:var(--muted); }
ul.todos .title { flex:1; min-width:12rem; }
`;

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** Which navigation entry is current. */
  section?: 'reviews' | 'insights' | 'none';
  signedIn?: boolean;
}

export function page(o: PageOptions): string {
  const current = (s: PageOptions['section']) => (o.section === s ? html` aria-current="page"` : html``);
  const nav =
    o.signedIn === false
      ? html``
      : html`<nav>
            <a href="/" ${current('reviews')}>Reviews</a>
            <a href="/insights" ${current('insights')}>Insights</a>
          </nav>
          <form class="inline" method="post" action="/logout">
            <button class="quiet small">Sign out</button>
          </form>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="Content-Security-Policy" content="${APP_CSP}" />
        <title>${o.title} · Sextant</title>
        <style>
          ${trustedHtml(CSS)}
        </style>
      </head>
      <body>
        <header class="app"><span class="brand">Sextant</span>${nav}</header>
        <main>${o.body}</main>
      </body>
    </html>`.html;
}

/** A query string from `params` (undefined ones left out). */
export function qs(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** The path of a review's page (segments encoded). */
export function reviewPath(product: string, month: string, rest = ''): string {
  return `/reviews/${encodeURIComponent(product)}/${encodeURIComponent(month)}${rest}`;
}

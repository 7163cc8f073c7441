import { monthsEndingAt } from '../domain/month.js';
import type {
  Anomaly,
  DeepDive,
  Finding,
  Metric,
  MetricGroup,
  PreviousReview,
  Review,
} from '../domain/review.js';
import { num, sparkline, text, type Chart } from './charts.js';
import { html, idSlug, trustedHtml, type SafeHtml } from './escape.js';
import { changeBetween, formatChange, formatDataValue, formatValue, NONE } from './format.js';
import { LAUNCHES_CSS, launchesHtml } from './launches.js';
import {
  GROUPS,
  diveLayout,
  factText,
  evidenceOf,
  lowerIsBetter,
  signalsText,
  type DataTable,
} from './layout.js';

/**
 * index.html: one self-contained page (styles and SVG charts inline, no scripts, no network; a
 * Content-Security-Policy forbids both), readable on a laptop and printable. Every piece of text
 * from the data goes through the html`` template, which escapes it.
 */

const CSS = `
:root { --fg:#1d2330; --muted:#5b6474; --line:#dde1e8; --bg-alt:#f6f7f9; --up:#1c7c4a; --down:#b3261e; --accent:#3461c1; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 0; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
.muted, .meta { color: var(--muted); }
.meta { margin: 0 0 4px; }
ul.coverage { margin: 4px 0; padding-left: 18px; color: var(--muted); }
.incomplete { margin: 8px 0; padding: 8px 12px; border-left: 4px solid #b26a00; background: #fff4e0; }
ol.highlights li { margin-bottom: 6px; }
.tag { display: inline-block; font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; margin-left: 4px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 12px; }
caption { text-align: left; font-size: 12px; padding: 2px 0; }
th, td { padding: 3px 7px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: middle; white-space: nowrap; }
th { font-weight: 600; background: var(--bg-alt); }
td.text, th.text { text-align: left; white-space: normal; }
table.metrics td.label { text-align: left; min-width: 170px; }
table.metrics tr.group th { text-align: left; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; background: #e9edf4; }
table.metrics td.spark { padding: 0 4px; }
table.metrics td.current { font-weight: 600; }
td.anomaly { background: #fff2d6; }
.marker { color: #b35c00; font-weight: 700; font-size: 11px; margin-left: 2px; }
.up { color: var(--up); } .down { color: var(--down); }
.legend { font-size: 12px; color: var(--muted); }
section.dive { border-top: 1px solid var(--line); padding-top: 4px; break-inside: avoid-page; }
p.summary { font-size: 15px; }
p.method { font-size: 12px; color: var(--muted); }
ul.findings li { margin-bottom: 6px; }
ul.evidence { list-style: none; padding: 0; margin: 2px 0 0; font-size: 12px; color: var(--muted); }
ul.evidence li { display: inline; margin-right: 12px; }
figure { margin: 10px 0; }
figcaption { font-size: 12px; color: var(--muted); margin-bottom: 2px; }
figure svg { max-width: 100%; height: auto; }
.health { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; font-weight: 600; }
.health-happy { background: #d8f0e2; color: #14532d; } .health-neutral { background: #eceff3; color: #374151; }
.health-at-risk { background: #fff0c2; color: #7a4b00; } .health-unhappy { background: #fbd9d6; color: #7f1d1d; }
.health-unknown { background: #eee; color: #555; }
.no-data { color: var(--muted); font-style: italic; }
.lines li { border-bottom: 1px solid #c9ced6; height: 30px; list-style: none; }
.lines { padding: 0; }
td.signals div { font-size: 12px; white-space: normal; min-width: 260px; }
footer { margin-top: 36px; font-size: 12px; color: var(--muted); }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { font-size: 10.5px; }
  main { max-width: none; padding: 0; }
  .table-wrap { overflow: visible; }
  th, td { padding: 2px 4px; }
  h2 { break-after: avoid; }
  figure, table, tr { break-inside: avoid; }
  td.anomaly { background: none; outline: 1px solid #b35c00; }
}
`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

function cell(value: unknown, key: string, currency: string): SafeHtml {
  const isText = typeof value === 'string' || (value !== null && typeof value === 'object');
  return html`<td class="${isText ? 'text' : ''}">${formatDataValue(key, value, currency)}</td>`;
}

/** A data table; columns named by field, values formatted by field name. */
function dataTable(t: DataTable, currency: string): SafeHtml {
  if (t.rows.length === 0) return html`<p class="no-data">${t.title}: not enough data.</p>`;
  const head = t.columns.map((c) => html`<th class="${c.text ? 'text' : ''}">${c.label}</th>`);
  const body = t.rows.map(
    (r) =>
      html`<tr>
        ${t.columns.map((c) => {
          if (c.key === 'health') return healthCell(r.health);
          if (c.key === 'signals') return html`<td class="text signals">${signalsCell(r.signals)}</td>`;
          return cell(r[c.key], c.key, currency);
        })}
      </tr>`,
  );
  const more =
    t.total > t.rows.length ? html`<p class="muted">Showing ${t.rows.length} of ${t.total}.</p>` : '';
  return html`<div class="table-wrap">
      <table class="data">
        <caption class="text muted">
          ${t.title}
        </caption>
        <thead>
          <tr>
            ${head}
          </tr>
        </thead>
        <tbody>
          ${body}
        </tbody>
      </table>
    </div>
    ${more}`;
}

function signalsCell(v: unknown): SafeHtml | string {
  const lines = signalsText(v);
  return lines.length ? lines.map((x) => html`<div>${x}</div>`).reduce((a, b) => html`${a}${b}`) : NONE;
}

function healthCell(v: unknown): SafeHtml {
  const h = text(v);
  const known = ['happy', 'neutral', 'at-risk', 'unhappy'].includes(h) ? h : 'unknown';
  return html`<td class="text"><span class="health health-${known}">${h || NONE}</span></td>`;
}

function header(r: Review): SafeHtml {
  const c = r.dataCoverage;
  const span = (first: string | null | undefined, last: string | null | undefined) =>
    first || last ? ` (${text(first).slice(0, 10) || '?'} … ${text(last).slice(0, 10) || '?'})` : '';
  const n = (v: unknown) => formatValue(num(v), 'count', r.currency);
  return html`<header>
    <h1>Growth review: ${r.product} — ${r.month}</h1>
    <p class="meta">
      Reporting currency ${r.currency} · generated ${r.generatedAt} · schema v${r.schemaVersion}
    </p>
    ${
      c?.statement
        ? html`<p class="incomplete" role="alert">
            <strong>${c.status === 'outside' ? 'Outside the data.' : 'Incomplete month.'}</strong>
            ${c.statement}
          </p>`
        : ''
    }
    <ul class="coverage">
      ${
        c?.first || c?.last
          ? html`<li>
              Data: ${text(c.first) || '?'} … ${text(c.last) || '?'}; ${r.month}:
              ${c.period ? `${c.period.coveredDays} of ${c.period.days} days covered` : 'coverage unknown'}
              (${c.status ?? 'complete'})
            </li>`
          : ''
      }
      <li>
        Events: ${n(c?.events?.count)}${span(c?.events?.first, c?.events?.last)}; ${n(c?.persons)} persons,
        ${n(c?.organizations)} organizations; months with events: ${c?.monthsWithEvents?.length ?? 0} of 13
      </li>
      <li>
        Billing: ${n(c?.billing?.customers)} customers, ${n(c?.billing?.invoiceLines)} invoice lines,
        ${n(c?.billing?.subscriptionRows)} subscription rows${span(c?.billing?.first, c?.billing?.last)};
        months with billing: ${c?.monthsWithBilling?.length ?? 0} of 13
      </li>
      <li>Feedback: ${n(c?.feedback?.count)} items${span(c?.feedback?.first, c?.feedback?.last)}</li>
      ${(c?.notes ?? []).map((note) => html`<li>${note}</li>`)}
    </ul>
  </header>`;
}

function highlights(r: Review): SafeHtml {
  const items = r.highlights.map(
    (h) => html`<li><strong>${h.title}</strong> <span class="tag">${h.source}</span><br />${h.detail}</li>`,
  );
  return html`<section id="highlights">
    <h2>Highlights</h2>
    ${
      items.length
        ? html`<ol class="highlights">
            ${items}
          </ol>`
        : html`<p class="no-data">Nothing stood out this month.</p>`
    }
  </section>`;
}

function anomalyTitle(a: Anomaly, m: Metric, currency: string): string {
  return `${a.direction === 'up' ? 'Unusually high' : 'Unusually low'}: ${a.explanation} (expected ${formatValue(a.expected, m.unit, currency)}, actual ${formatValue(a.actual, m.unit, currency)}, score ${a.score.toFixed(1)})`;
}

function metricRow(m: Metric, months: string[], anomalies: Anomaly[], currency: string): SafeHtml {
  const byMonth = new Map(m.series.map((p) => [p.month, p.value]));
  const mine = anomalies.filter((a) => a.metricId === m.id);
  const cells = months.map((mo, i) => {
    const v = byMonth.get(mo) ?? null;
    const a = mine.find((x) => x.month === mo);
    const cls = [i === months.length - 1 ? 'current' : '', a ? 'anomaly' : ''].join(' ').trim();
    const full = formatValue(v, m.unit, currency);
    if (!a)
      return html`<td class="${cls}" title="${mo}: ${full}">
        ${formatValue(v, m.unit, currency, { compact: true })}
      </td>`;
    return html`<td class="${cls}" title="${mo}: ${full}. ${anomalyTitle(a, m, currency)}">
      ${formatValue(v, m.unit, currency, { compact: true })}<span class="marker"
        >${a.direction === 'up' ? '▲' : '▼'}</span
      >
    </td>`;
  });
  const change = m.change ?? null;
  // Green for good news: up for most metrics, down for churn, contraction and tickets.
  const better = change === null || change === 0 ? null : change > 0 !== lowerIsBetter(m.id);
  const dir = better === null ? '' : better ? 'up' : 'down';
  return html`<tr id="metric-${idSlug(m.id)}">
    <td class="label" title="${m.description ?? ''}">${m.label}</td>
    <td class="spark">${trustedHtml(sparkline(m, anomalies))}</td>
    ${cells}
    <td class="${dir}">${formatChange(change, m.changeKind, m.unit)}</td>
  </tr>`;
}

function metricsTable(r: Review): SafeHtml {
  const months = monthsEndingAt(r.month, 13);
  const groups: { id: MetricGroup | 'other'; label: string }[] = [...GROUPS, { id: 'other', label: 'Other' }];
  const known = new Set<string>(GROUPS.map((g) => g.id));
  const body = groups.map((g) => {
    const ms = r.metrics.filter((m) => (known.has(m.group) ? m.group === g.id : g.id === 'other'));
    if (ms.length === 0) return '';
    return html`<tbody>
      <tr class="group">
        <th colspan="${months.length + 3}">${g.label}</th>
      </tr>
      ${ms.map((m) => metricRow(m, months, r.anomalies, r.currency))}
    </tbody>`;
  });
  const labelOf = new Map(r.metrics.map((m) => [m.id, m]));
  const anomalyList = r.anomalies.map((a) => {
    const m = labelOf.get(a.metricId);
    return html`<li>
      <strong>${m?.label ?? a.metricId}</strong>, ${a.month}
      <span class="marker">${a.direction === 'up' ? '▲' : '▼'}</span>: ${a.explanation}
      <span class="muted"
        >(expected ${m ? formatValue(a.expected, m.unit, r.currency) : a.expected}, actual
        ${m ? formatValue(a.actual, m.unit, r.currency) : a.actual}, score ${a.score.toFixed(1)})</span
      >
    </li>`;
  });
  return html`<section id="metrics">
    <h2>Metrics</h2>
    <div class="table-wrap">
      <table class="metrics">
        <thead>
          <tr>
            <th class="text">Metric</th>
            <th>Trend</th>
            ${months.map((m) => html`<th>${m}</th>`)}
            <th>MoM</th>
          </tr>
        </thead>
        ${body}
      </table>
    </div>
    <p class="legend">
      <span class="marker">▲</span>/<span class="marker">▼</span> an anomaly: unusually high / low against the
      trailing months (hover a cell for the explanation). Red dots on a sparkline mark the same months. Values
      in ${r.currency}; rates as percentages; MoM is the month-on-month change (relative, or in points for
      rates and NPS); — means it cannot be computed.
    </p>
    ${
      anomalyList.length
        ? html`<h3>Anomalies</h3>
            <ul class="anomalies">
              ${anomalyList}
            </ul>`
        : html`<p class="muted">No anomalies this month.</p>`
    }
  </section>`;
}

function finding(f: Finding, currency: string): SafeHtml {
  const ev = evidenceOf(f);
  return html`<li><strong>${f.title}</strong> — ${f.detail} ${ev.length ? facts(ev, currency) : ''}</li>`;
}

function figure(c: Chart): SafeHtml {
  return html`<figure id="chart-${c.name}">
    <figcaption>${c.title}</figcaption>
    ${trustedHtml(c.svg)}
  </figure>`;
}

function facts(items: [string, string, unknown][], currency: string): SafeHtml {
  return html`<ul class="evidence">
    ${items.map(([label, key, v]) => html`<li>${label}: ${factText(key, v, currency)}</li>`)}
  </ul>`;
}

function deepDive(d: DeepDive, currency: string): SafeHtml {
  const l = diveLayout(d);
  return html`<section class="dive" id="dive-${idSlug(d.id)}">
    <h3>${d.question}</h3>
    <p class="summary">${d.summary}</p>
    <p class="method">Method: ${d.method}</p>
    ${
      l.findings.length
        ? html`<ul class="findings">
            ${l.findings.map((f) => finding(f, currency))}
          </ul>`
        : ''
    }
    ${l.facts.length ? facts(l.facts, currency) : ''} ${l.charts.map(figure)}
    ${l.tables.map((t) => dataTable(t, currency))}
    ${l.empty ? html`<p class="no-data">Not enough data.</p>` : ''}
  </section>`;
}

function previous(p: PreviousReview | null, r: Review): SafeHtml {
  if (!p)
    return html`<section id="previous">
      <h2>Last review</h2>
      <p class="no-data">No previous review recorded.</p>
    </section>`;
  const byId = new Map(r.metrics.map((m) => [m.id, m]));
  const d = p.decision;
  const decision = d
    ? html`<p>
        <strong>Decision:</strong> ${d.outcome}${d.note ? html` — ${d.note}` : ''}
        <span class="muted">(${text(d.decidedAt).slice(0, 10)})</span>
      </p>`
    : html`<p class="no-data">No decision was recorded.</p>`;
  const todos = p.todos.length
    ? html`<table>
        <thead>
          <tr>
            <th>#</th>
            <th class="text">To-do</th>
            <th class="text">Owner</th>
            <th class="text">Status</th>
            <th class="text">Done</th>
            <th class="text">Metrics</th>
          </tr>
        </thead>
        <tbody>
          ${p.todos.map(
            (t) =>
              html`<tr>
                <td>${t.id}</td>
                <td class="text">${t.title}</td>
                <td class="text">${t.owner ?? NONE}</td>
                <td class="text ${t.status === 'done' ? 'up' : 'down'}">
                  ${t.status === 'done' ? '✓ done' : 'open'}
                </td>
                <td class="text">${t.doneAt ? text(t.doneAt).slice(0, 10) : NONE}</td>
                <td class="text">${t.metricIds.join(', ') || NONE}</td>
              </tr>`,
          )}
        </tbody>
      </table>`
    : html`<p class="no-data">No to-dos were recorded.</p>`;
  const moves = p.metricsSince.map((s) => {
    const m = byId.get(s.metricId);
    const unit = m?.unit ?? 'count';
    const kind = m?.changeKind ?? 'relative';
    return html`<tr>
      <td class="text">${m?.label ?? s.metricId}</td>
      <td>${formatValue(s.then, unit, r.currency)}</td>
      <td>${formatValue(s.now, unit, r.currency)}</td>
      <td>${formatChange(changeBetween(s.then, s.now, kind), kind, unit)}</td>
    </tr>`;
  });
  return html`<section id="previous">
    <h2>Last review (${p.month})</h2>
    ${decision}
    <h3>To-dos</h3>
    ${todos}
    <h3>How the named metrics moved since</h3>
    ${
      moves.length
        ? html`<table>
            <thead>
              <tr>
                <th class="text">Metric</th>
                <th>Then</th>
                <th>Now</th>
                <th>Change</th>
              </tr>
            </thead>
            <tbody>
              ${moves}
            </tbody>
          </table>`
        : html`<p class="no-data">The decision and to-dos named no metrics.</p>`
    }
  </section>`;
}

function questions(): SafeHtml {
  return html`<section id="questions">
    <h2>Questions and comments</h2>
    <p class="muted">
      None yet. Bring questions to the meeting, or add them as comments on the review's pull request; on
      paper, write them below.
    </p>
    <ol class="lines">
      ${Array.from({ length: 6 }, () => html`<li></li>`)}
    </ol>
  </section>`;
}

export function renderHtml(review: Review): string {
  const dives = review.deepDives.map((d) => deepDive(d, review.currency));
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="Content-Security-Policy" content="${trustedHtml(CSP)}" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Growth review: ${review.product} — ${review.month}</title>
        <style>
          ${trustedHtml(CSS + LAUNCHES_CSS)}
        </style>
      </head>
      <body>
        <main>
          ${header(review)} ${highlights(review)} ${metricsTable(review)} ${launchesHtml(review)}
          <section id="deep-dives">
            <h2>Deep dives</h2>
            ${dives.length ? dives : html`<p class="no-data">No deep dives.</p>`}
          </section>
          ${previous(review.previous, review)} ${questions()}
          <footer>
            Written by Sextant from the data listed at the top. review.json holds every number on this page.
          </footer>
        </main>
      </body>
    </html> `;
  return page.html;
}

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
import { num, sparkline, text, waterfall, type Chart } from './charts.js';
import { html, idSlug, trustedHtml, type SafeHtml } from './escape.js';
import { changeBetween, formatChange, formatMetricChange, formatMoney, formatValue, NONE } from './format.js';
import { LAUNCHES_CSS, launchesHtml } from './launches.js';
import { diveTitle, labelsOf, metricScope, SCOPE_NOTE, type Labels } from './labels.js';
import {
  GROUPS,
  diveLayout,
  evidenceText,
  factText,
  feedbackView,
  kpiMetrics,
  lowerIsBetter,
  mrrMovements,
  signalsText,
  type DataTable,
} from './layout.js';

/**
 * index.html: one self-contained page (styles and SVG charts inline, no scripts, no network; a
 * Content-Security-Policy forbids both), meant to be read in five minutes in a meeting and printed.
 * The first screen is the month at a glance (KPI cards, highlights, last decision); then the
 * monthly table (sticky metric column), the MRR movements, feedback, the deep dives (an answer,
 * one chart, and a fold with method and tests), what we shipped. Every piece of text from the
 * data goes through the html`` template, which escapes it; ids are shown by their labels.
 */

const CSS = `
:root { --fg:#1d2330; --muted:#5b6474; --line:#dde1e8; --bg:#fff; --bg-alt:#f6f7f9; --up:#1c7c4a; --down:#b3261e; --accent:#3461c1; --warn:#b35c00; }
* { box-sizing: border-box; }
html { scroll-padding-top: 48px; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 0; background: var(--bg); }
main { max-width: 1320px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 19px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
h4 { font-size: 14px; margin: 12px 0 4px; }
.muted, .meta { color: var(--muted); }
.meta { margin: 0 0 4px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0,0,0,0); white-space: nowrap; border: 0; }
nav.toc { position: sticky; top: 0; z-index: 5; background: var(--bg); border-bottom: 1px solid var(--line); margin: 8px -24px 0; padding: 6px 24px; }
nav.toc ol { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 13px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover, nav.toc a:focus { text-decoration: underline; }
.scope { display: inline-block; font-size: 11px; color: #6b3f00; background: #fff0d6; border-radius: 3px; padding: 0 4px; margin-left: 4px; white-space: nowrap; font-weight: 400; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; margin: 8px 0 4px; }
.kpi { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.kpi .name { font-size: 12px; color: var(--muted); }
.kpi .value { font-size: 22px; font-weight: 650; line-height: 1.2; }
.kpi .change { font-size: 12px; }
.kpi.anomalous { border-color: var(--warn); }
.kpi svg { display: block; margin-top: 2px; }
.kpi-group { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 10px 0 0; }
.glance-cols { display: grid; grid-template-columns: 3fr 2fr; gap: 24px; }
@media (max-width: 900px) { .glance-cols { grid-template-columns: 1fr; } }
ol.highlights { padding-left: 20px; margin: 4px 0; }
.incomplete { margin: 8px 0; padding: 8px 12px; border-left: 4px solid #b26a00; background: #fff4e0; }
ol.highlights li { margin-bottom: 6px; }
.tag { display: inline-block; font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; margin-left: 4px; font-weight: 400; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: separate; border-spacing: 0; margin: 6px 0 12px; }
caption { text-align: left; font-size: 12px; padding: 2px 0; }
th, td { padding: 3px 7px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: middle; white-space: nowrap; }
th { font-weight: 600; background: var(--bg-alt); }
td.text, th.text { text-align: left; white-space: normal; }
table.metrics th.label, table.metrics td.label { position: sticky; left: 0; z-index: 2; background: var(--bg); text-align: left; min-width: 190px; max-width: 240px; white-space: normal; border-right: 1px solid var(--line); }
table.metrics thead th.label { background: var(--bg-alt); z-index: 3; }
table.metrics tr.group th { text-align: left; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; background: #e9edf4; }
table.metrics tr.group th.label { background: #e9edf4; }
table.metrics td.current { font-weight: 600; }
td.anomaly { background: #fff2d6; }
.marker { color: var(--warn); font-weight: 700; font-size: 11px; margin-left: 2px; }
.na { color: var(--muted); }
.up { color: var(--up); } .down { color: var(--down); }
.legend { font-size: 12px; color: var(--muted); }
section.dive { border-top: 1px solid var(--line); padding-top: 2px; }
p.answer { font-size: 15px; max-width: 80ch; }
p.method { font-size: 12px; color: var(--muted); }
details { margin: 6px 0 10px; }
details > summary { cursor: pointer; color: var(--accent); font-size: 13px; }
details[open] > summary { margin-bottom: 6px; }
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
ul.todos { list-style: none; padding: 0; margin: 4px 0; }
ul.todos li { margin-bottom: 4px; }
ul.moves { margin: 2px 0 0; padding-left: 22px; font-size: 12px; color: var(--muted); }
blockquote { margin: 4px 0 6px; padding: 2px 10px; border-left: 3px solid var(--line); color: #333; }
.themes { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; }
.lines li { border-bottom: 1px solid #c9ced6; height: 30px; list-style: none; }
.lines { padding: 0; }
td.signals div { font-size: 12px; white-space: normal; min-width: 260px; }
ul.coverage { margin: 4px 0; padding-left: 18px; color: var(--muted); }
footer { margin-top: 36px; font-size: 12px; color: var(--muted); }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { font-size: 10.5px; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  .table-wrap { overflow: visible; }
  table.metrics th.label, table.metrics td.label { position: static; }
  th, td { padding: 2px 4px; }
  h2 { break-after: avoid; }
  section.glance { break-after: page; }
  figure, table, tr, .kpi, section.dive { break-inside: avoid; }
  details > summary { display: none; }
  details::details-content { content-visibility: visible; display: block; }
  td.anomaly { background: none; outline: 1px solid var(--warn); }
  a { color: inherit; text-decoration: none; }
}
`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The sections of the page, in order: the navigation links to each. */
interface Section {
  id: string;
  title: string;
  body: SafeHtml;
}

// ---- shared pieces ------------------------------------------------------------------------------

function joinHtml(parts: SafeHtml[], sep: SafeHtml | string = ''): SafeHtml | string {
  if (parts.length === 0) return '';
  return parts.reduce((a, b) => html`${a}${sep}${b}`);
}

function noData(what: string): SafeHtml {
  return html`<p class="no-data">${what}</p>`;
}

function scopeTag(r: Review, m: Metric): SafeHtml | string {
  const s = metricScope(r, m);
  if (s === null || s === 'product') return '';
  return html`<span class="scope" title="${SCOPE_NOTE}">${s}</span>`;
}

function changeClass(m: Metric): string {
  const c =
    m.unit === 'currency' && m.current !== null && m.previous !== null ? m.current - m.previous : m.change;
  if (c === null || c === undefined || c === 0) return '';
  // Green for good news: up for most metrics, down for churn, contraction and tickets.
  return c > 0 !== lowerIsBetter(m.id) ? 'up' : 'down';
}

function valueCell(v: string): SafeHtml | string {
  return v === 'n/a' ? html`<span class="na">n/a</span>` : v;
}

function anomalyWords(a: Anomaly, m: Metric, currency: string): string {
  return `Anomaly: unusually ${a.direction === 'up' ? 'high' : 'low'} (expected about ${formatValue(a.expected, m.unit, currency)}, actual ${formatValue(a.actual, m.unit, currency)}). ${a.explanation}`;
}

// ---- header and navigation ----------------------------------------------------------------------

function incompleteLabel(r: Review): string {
  return r.dataCoverage.status === 'outside' ? 'Outside the data.' : 'Incomplete month.';
}

function header(r: Review): SafeHtml {
  const who = r.product === 'all' ? 'the whole company' : r.product;
  return html`<header>
    <h1>Growth review — ${who}, ${r.month}</h1>
    <p class="meta">
      Money in ${r.currency}.
      ${r.product === 'all' ? '' : 'Revenue and usage are this product’s; '}${
        r.product === 'all' ? '' : html`feedback marked <span class="scope">company-wide</span> is not.`
      }
    </p>
    ${
      // A month the data does not fully cover says so before anything else.
      r.dataCoverage?.statement
        ? html`<p class="incomplete" role="alert">
            <strong>${incompleteLabel(r)}</strong>
            ${r.dataCoverage.statement}
          </p>`
        : ''
    }
  </header>`;
}

function nav(sections: Section[]): SafeHtml {
  return html`<nav class="toc" aria-label="Sections">
    <ol>
      ${sections.map((s) => html`<li><a href="#${s.id}">${s.title}</a></li>`)}
    </ol>
  </nav>`;
}

// ---- the month at a glance ----------------------------------------------------------------------

function kpiCard(r: Review, m: Metric): SafeHtml {
  const a = r.anomalies.find((x) => x.metricId === m.id && x.month === r.month);
  const value = formatValue(m.current, m.unit, r.currency, { compact: m.unit === 'currency' });
  const prev = formatValue(m.previous, m.unit, r.currency, { compact: m.unit === 'currency' });
  return html`<div class="kpi${a ? ' anomalous' : ''}" id="kpi-${idSlug(m.id)}">
    <div class="name">${m.label}${scopeTag(r, m)}</div>
    <div class="value">${valueCell(value)}</div>
    <div class="change">
      <span class="${changeClass(m)}">${formatMetricChange(m, r.currency)}</span>
      <span class="muted">vs ${prev} last month</span>
      ${
        a
          ? html`<span class="marker" aria-hidden="true" title="${anomalyWords(a, m, r.currency)}"
              >${a.direction === 'up' ? '▲' : '▼'}</span
            >`
          : ''
      }
    </div>
    ${a ? html`<span class="sr-only">${anomalyWords(a, m, r.currency)}</span>` : ''}
    <div aria-hidden="true">${trustedHtml(sparkline(m, r.anomalies))}</div>
  </div>`;
}

function glance(r: Review, l: Labels): SafeHtml {
  const { outputs, inputs } = kpiMetrics(r.metrics);
  const cards = (ms: Metric[]) =>
    ms.length
      ? html`<div class="kpis">${ms.map((m) => kpiCard(r, m))}</div>`
      : noData('No data for these metrics.');
  const items = r.highlights.slice(0, 5).map(
    (h) =>
      html`<li>
        <strong>${h.title}</strong> <span class="tag">${l.source(h.source)}</span><br />
        <span class="muted">${h.detail}</span>
      </li>`,
  );
  return html`<p class="kpi-group">Outcomes</p>
    ${cards(outputs)}
    <p class="kpi-group">Inputs</p>
    ${cards(inputs)}
    <div class="glance-cols">
      <div>
        <h3>Highlights</h3>
        ${
          items.length
            ? html`<ol class="highlights">
                ${items}
              </ol>`
            : noData('Nothing stood out this month.')
        }
        ${
          r.highlights.length > 5
            ? html`<p class="muted">${r.highlights.length - 5} more in the sections below.</p>`
            : ''
        }
      </div>
      <div>${previousDecision(r.previous, r, l)}</div>
    </div>`;
}

function metricMoves(metricIds: string[], p: PreviousReview, r: Review, l: Labels): SafeHtml | string {
  const moves = p.metricsSince.filter((s) => metricIds.includes(s.metricId));
  if (moves.length === 0) return '';
  return html`<ul class="moves">
    ${moves.map((s) => {
      const m = l.metricById(s.metricId);
      const unit = m?.unit ?? 'count';
      const kind = m?.changeKind ?? 'relative';
      return html`<li>
        ${l.metric(s.metricId)}: ${formatValue(s.then, unit, r.currency)} →
        ${formatValue(s.now, unit, r.currency)}
        (${formatChange(changeBetween(s.then, s.now, kind), kind, unit)})
      </li>`;
    })}
  </ul>`;
}

const OUTCOME_WORDS: Record<string, string> = {
  continue: 'Continue as planned',
  reprioritize: 'Reprioritize',
  'change-goals': 'Change goals',
  'new-projects': 'Start new projects',
};

function previousDecision(p: PreviousReview | null, r: Review, l: Labels): SafeHtml {
  if (!p)
    return html`<h3>Last decision</h3>
      ${noData('No previous review recorded: this is the first.')}`;
  const d = p.decision;
  return html`<h3>Last decision (${p.month})</h3>
    ${
      d
        ? html`<p>
            <strong>${OUTCOME_WORDS[d.outcome] ?? d.outcome}</strong>${d.note ? html` — ${d.note}` : ''}
            <span class="muted">(${text(d.decidedAt).slice(0, 10)})</span>
          </p>`
        : noData('No decision was recorded.')
    }
    ${d ? metricMoves(d.metricIds, p, r, l) : ''}
    <h4>To-dos</h4>
    ${
      p.todos.length
        ? html`<ul class="todos">
            ${p.todos.map(
              (t) =>
                html`<li>
                  <span class="${t.status === 'done' ? 'up' : 'down'}"
                    >${t.status === 'done' ? '✓ done' : '○ open'}</span
                  >
                  ${t.title}
                  <span class="muted"
                    >${t.owner ? ` · ${t.owner}` : ''}${t.doneAt ? ` · done ${text(t.doneAt).slice(0, 10)}` : ''}</span
                  >
                  ${metricMoves(t.metricIds, p, r, l)}
                </li>`,
            )}
          </ul>`
        : noData('No to-dos were recorded.')
    }`;
}

// ---- the monthly table --------------------------------------------------------------------------

function metricRow(r: Review, m: Metric, months: string[]): SafeHtml {
  const byMonth = new Map(m.series.map((p) => [p.month, p.value]));
  const mine = r.anomalies.filter((a) => a.metricId === m.id);
  const cells = months.map((mo, i) => {
    const v = byMonth.get(mo) ?? null;
    const a = mine.find((x) => x.month === mo);
    const cls = [i === months.length - 1 ? 'current' : '', a ? 'anomaly' : ''].join(' ').trim();
    const shown = valueCell(formatValue(v, m.unit, r.currency, { compact: true }));
    if (!a) return html`<td class="${cls}">${shown}</td>`;
    const words = anomalyWords(a, m, r.currency);
    return html`<td class="${cls}" title="${words}">
      ${shown}<span class="marker" aria-hidden="true">${a.direction === 'up' ? '▲' : '▼'}</span
      ><span class="sr-only">${words}</span>
    </td>`;
  });
  return html`<tr id="metric-${idSlug(m.id)}">
    <th scope="row" class="label text" title="${m.description ?? ''}">${m.label}${scopeTag(r, m)}</th>
    ${cells}
    <td class="${changeClass(m)}">${formatMetricChange(m, r.currency)}</td>
  </tr>`;
}

function metricsTable(r: Review, l: Labels): SafeHtml {
  const months = monthsEndingAt(r.month, 13);
  const groups: { id: MetricGroup | 'other'; label: string }[] = [...GROUPS, { id: 'other', label: 'Other' }];
  const known = new Set<string>(GROUPS.map((g) => g.id));
  const body = groups.map((g) => {
    const ms = r.metrics.filter((m) => (known.has(m.group) ? m.group === g.id : g.id === 'other'));
    if (ms.length === 0) return '';
    return html`<tbody>
      <tr class="group">
        <th class="label" scope="rowgroup">${g.label}</th>
        <th colspan="${months.length + 1}"></th>
      </tr>
      ${ms.map((m) => metricRow(r, m, months))}
    </tbody>`;
  });
  const anomalyList = r.anomalies.map((a) => {
    return html`<li>
      <strong>${l.metric(a.metricId)}</strong>, ${a.month}
      <span class="marker" aria-hidden="true">${a.direction === 'up' ? '▲' : '▼'}</span>: ${a.explanation}
    </li>`;
  });
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Metrics by month">
      <table class="metrics">
        <thead>
          <tr>
            <th class="label text" scope="col">Metric</th>
            ${months.map((m) => html`<th scope="col">${m}</th>`)}
            <th scope="col">vs last month</th>
          </tr>
        </thead>
        ${body}
      </table>
    </div>
    <p class="legend">
      <span class="marker">▲</span>/<span class="marker">▼</span> an anomaly: unusually high / low against the
      months before (explained below and on hover). n/a: cannot be computed for that month (no data, or
      nothing to divide by). The last column is the change from last month: relative, in points for rates and
      NPS, and in money where a month is zero or negative. ${r.anomalyDetection?.statement ?? ''}
    </p>
    ${
      anomalyList.length
        ? html`<h3>Anomalies</h3>
            <ul class="anomalies">
              ${anomalyList}
            </ul>`
        : html`<p class="muted">No anomalies this month.</p>`
    }`;
}

// ---- MRR movements ------------------------------------------------------------------------------

function movements(r: Review): SafeHtml {
  const mv = mrrMovements(r);
  if (!mv) return noData('No revenue data for this month and the one before: no movements to show.');
  const money = (v: number) => formatMoney(v, r.currency, { compact: true });
  const svg = waterfall(`mrr-movements`, mv.steps, money);
  const full = (v: number) => formatMoney(v, r.currency);
  return html`<p class="answer">
      MRR went from ${full(mv.start)} to ${full(mv.end)}:
      ${mv.steps
        .filter((s) => !s.total)
        .map((s) => `${s.label.toLowerCase()} ${s.value >= 0 ? '+' : ''}${full(s.value)}`)
        .join(', ')}.
    </p>
    ${
      svg
        ? html`<figure id="chart-mrr-movements">
            <figcaption>MRR movements, ${r.month}</figcaption>
            ${trustedHtml(svg)}
          </figure>`
        : ''
    }
    ${mv.other !== 0 ? html`<p class="method">“Other” is what the movements do not explain (currency conversion at each month’s rate, rounding).</p>` : ''}`;
}

// ---- feedback -----------------------------------------------------------------------------------

function feedback(r: Review): SafeHtml {
  const f = feedbackView(r);
  const scope =
    r.product === 'all'
      ? ''
      : html`<p class="meta"><span class="scope">company-wide</span> ${SCOPE_NOTE}</p>`;
  const nps = f.nps
    ? html`<p>
        <strong>NPS ${formatValue(f.nps.value, 'nps', r.currency)}</strong>
        ${f.nps.low !== null && f.nps.high !== null ? ` (95% interval ${formatValue(f.nps.low, 'nps', r.currency)} to ${formatValue(f.nps.high, 'nps', r.currency)})` : ''}
        from ${formatValue(f.nps.responses, 'count', r.currency)}
        answers${f.nps.change ? `, ${f.nps.change} vs last month` : ''}.
      </p>`
    : noData('No NPS answers this month.');
  const counts = f.counts.length
    ? html`<p>
        ${joinHtml(
          f.counts.map((c) => html`<span>${c.label}: <strong>${c.value}</strong> (${c.change})</span>`),
          ' · ',
        )}.
      </p>`
    : '';
  const themeBlock = (title: string, t: typeof f.requestThemes) =>
    t.length
      ? html`<div>
          <h4>${title}</h4>
          <ol>
            ${t.map(
              (x) =>
                html`<li>
                  ${x.theme} <span class="muted">(${x.count})</span>
                  ${x.quotes.map((q) => html`<blockquote>“${q}”</blockquote>`)}
                </li>`,
            )}
          </ol>
        </div>`
      : html`<div>
          <h4>${title}</h4>
          ${noData('None this month.')}
        </div>`;
  return html`${scope}${nps}${counts}
    <div class="themes">
      ${themeBlock('Feature requests by theme', f.requestThemes)}
      ${themeBlock('Cancellation reasons', f.cancellationThemes)}
    </div>`;
}

// ---- deep dives ---------------------------------------------------------------------------------

function cell(value: unknown, key: string, currency: string): SafeHtml {
  const isText = typeof value === 'string';
  return html`<td class="${isText ? 'text' : ''}">${valueCell(factText(key, value, currency))}</td>`;
}

/** A data table; an empty one is a sentence, never a table. */
function dataTable(t: DataTable, currency: string): SafeHtml {
  if (t.rows.length === 0) return noData(`${t.title}: no data.`);
  const head = t.columns.map((c) => html`<th class="${c.text ? 'text' : ''}" scope="col">${c.label}</th>`);
  const body = t.rows.map(
    (r) =>
      html`<tr>
        ${t.columns.map((c) => {
          if (c.key === 'health') return healthCell(r.health);
          if (c.key === 'signals') return html`<td class="text signals">${signalsCell(r.signals)}</td>`;
          // A customer by its name; its id only when it has none.
          if (c.key === 'name') return cell(r.name ?? r.organization, c.key, currency);
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
  return lines.length ? joinHtml(lines.map((x) => html`<div>${x}</div>`)) : NONE;
}

function healthCell(v: unknown): SafeHtml {
  const h = text(v);
  const known = ['happy', 'neutral', 'at-risk', 'unhappy'].includes(h) ? h : 'unknown';
  return html`<td class="text"><span class="health health-${known}">${h || NONE}</span></td>`;
}

function finding(f: Finding, currency: string): SafeHtml {
  const ev = evidenceText(f, currency);
  return html`<li>
    <strong>${f.title}</strong> — ${f.detail}
    ${
      ev.length
        ? html`<ul class="evidence">
            ${ev.map(([k, v]) => html`<li>${k}: ${v}</li>`)}
          </ul>`
        : ''
    }
  </li>`;
}

function figure(c: Chart): SafeHtml {
  return html`<figure id="chart-${c.name}">
    <figcaption>${c.title}</figcaption>
    ${trustedHtml(c.svg)}
  </figure>`;
}

function deepDive(d: DeepDive, r: Review): SafeHtml {
  const l = diveLayout(d);
  const chart = l.charts[0];
  const tables = l.tables.filter((t) => t.rows.length > 0);
  const emptyTables = l.tables.filter((t) => t.rows.length === 0);
  return html`<section class="dive" id="dive-${idSlug(d.id)}">
    <h3>${diveTitle(d.id)}: <span style="font-weight:400">${d.question}</span></h3>
    <p class="answer">${d.summary}</p>
    ${chart ? figure(chart) : ''}
    <details>
      <summary>Method, samples and tests${tables.length ? ', tables' : ''}</summary>
      <p class="method">${d.method}</p>
      ${
        l.findings.length
          ? html`<ul class="findings">
              ${l.findings.map((f) => finding(f, r.currency))}
            </ul>`
          : ''
      }
      ${
        l.facts.length
          ? html`<ul class="evidence">
              ${l.facts.map(([label, key, v]) => html`<li>${label}: ${factText(key, v, r.currency)}</li>`)}
            </ul>`
          : ''
      }
      ${l.charts.slice(1).map(figure)} ${tables.map((t) => dataTable(t, r.currency))}
      ${emptyTables.length ? noData(`No data for: ${emptyTables.map((t) => t.title).join('; ')}.`) : ''}
    </details>
  </section>`;
}

// ---- coverage and questions ---------------------------------------------------------------------

function coverage(r: Review): SafeHtml {
  const c = r.dataCoverage;
  const day = (s: string | null | undefined) => text(s).slice(0, 10);
  const span = (first: string | null | undefined, last: string | null | undefined) =>
    first || last ? ` (${day(first) || '?'} to ${day(last) || '?'})` : '';
  const n = (v: unknown) => formatValue(num(v), 'count', r.currency);
  return html`<ul class="coverage">
    ${
      c?.first || c?.last
        ? html`<li>
            Data: ${day(c.first) || '?'} to ${day(c.last) || '?'}; ${r.month}:
            ${c.period ? `${c.period.coveredDays} of ${c.period.days} days covered` : 'coverage unknown'}
            (${c.status ?? 'complete'}).
          </li>`
        : ''
    }
    <li>
      Events: ${n(c?.events?.count)}${span(c?.events?.first, c?.events?.last)}; ${n(c?.persons)} people,
      ${n(c?.organizations)} organizations; ${c?.monthsWithEvents?.length ?? 0} of the 13 months have events.
    </li>
    <li>
      Billing: ${n(c?.billing?.customers)} customers, ${n(c?.billing?.invoiceLines)} invoice lines,
      ${n(c?.billing?.subscriptionRows)} subscription rows${span(c?.billing?.first, c?.billing?.last)};
      ${c?.monthsWithBilling?.length ?? 0} of the 13 months have billing.
    </li>
    <li>Feedback: ${n(c?.feedback?.count)} items${span(c?.feedback?.first, c?.feedback?.last)}.</li>
    ${(c?.notes ?? []).map((note) => html`<li>${note}</li>`)}
  </ul>`;
}

function questions(): SafeHtml {
  return html`<p class="muted">
      Bring questions to the meeting, or add them as comments on the review's pull request; on paper, write
      them below.
    </p>
    <ol class="lines">
      ${Array.from({ length: 4 }, () => html`<li></li>`)}
    </ol>`;
}

// ---- the page -----------------------------------------------------------------------------------

/** The page's sections in order; the navigation lists each. */
export function reviewSections(review: Review): Section[] {
  const l = labelsOf(review);
  const launches = launchesHtml(review, l.metric);
  return [
    { id: 'glance', title: 'At a glance', body: glance(review, l) },
    { id: 'metrics', title: 'Month by month', body: metricsTable(review, l) },
    { id: 'mrr-movements', title: 'MRR movements', body: movements(review) },
    { id: 'feedback', title: 'Feedback', body: feedback(review) },
    ...review.deepDives.map((d) => ({
      id: `dive-${idSlug(d.id)}`,
      title: diveTitle(d.id),
      body: deepDive(d, review),
    })),
    { id: 'launches', title: 'What we shipped', body: launches },
    { id: 'coverage', title: 'Data', body: coverage(review) },
    { id: 'questions', title: 'Questions', body: questions() },
  ];
}

function sectionHtml(s: Section): SafeHtml {
  // A dive renders its own <section> (with its id); the others are wrapped here.
  if (s.id.startsWith('dive-')) return s.body;
  if (s.id === 'launches') return s.body;
  return html`<section id="${s.id}" class="${s.id}">
    <h2>${s.title}</h2>
    ${s.body}
  </section>`;
}

export function renderHtml(review: Review): string {
  const sections = reviewSections(review);
  const dives = sections.filter((s) => s.id.startsWith('dive-'));
  const rest = sections.filter((s) => !s.id.startsWith('dive-'));
  const before = rest.slice(0, 4);
  const after = rest.slice(4);
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="Content-Security-Policy" content="${trustedHtml(CSP)}" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>
          Growth review: ${review.product === 'all' ? 'the whole company' : review.product} — ${review.month}
        </title>
        <style>
          ${trustedHtml(CSS + LAUNCHES_CSS)}
        </style>
      </head>
      <body>
        <main>
          ${header(review)} ${nav(sections)} ${before.map(sectionHtml)}
          <section id="deep-dives">
            <h2>Deep dives</h2>
            ${dives.length ? dives.map(sectionHtml) : noData('No deep dives.')}
          </section>
          ${after.map(sectionHtml)}
          <footer>
            Written by Sextant at ${review.generatedAt}. review.json beside this page holds every number on
            it.
          </footer>
        </main>
      </body>
    </html> `;
  return page.html;
}

/**
 * `/insights`: ad-hoc funnels, retention (with breakdowns) and trends (with math of a property)
 * from a form. The form's fields become the same spec `sextant query` and `POST /api/query` take
 * (shown under the result, to copy), run by `runInsight`.
 */
import type { FunnelResult } from '../../insights/funnel.js';
import type { RetentionCohort, RetentionResult } from '../../insights/retention.js';
import type { TrendsResult } from '../../insights/trends.js';
import { html, type SafeHtml } from '../../render/escape.js';
import { formatPercent, formatSeconds, NONE } from '../../render/format.js';
import { page, qs } from './layout.js';

export const INSIGHT_FORMS = ['funnel', 'retention', 'trends'] as const;
export type InsightForm = (typeof INSIGHT_FORMS)[number];

export type Query = Record<string, string | undefined>;

const lines = (s: string | undefined): string[] =>
  (s ?? '')
    .split(/\r?\n|,/)
    .map((x) => x.trim())
    .filter(Boolean);

const int = (s: string | undefined): number | undefined => {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : NaN;
};

const breakdownOf = (q: Query, withLimit: boolean): Record<string, unknown> | undefined =>
  q.breakdown?.trim()
    ? {
        property: q.breakdown.trim(),
        type: q.breakdownType ?? 'event',
        ...(withLimit && int(q.breakdownLimit) !== undefined ? { limit: int(q.breakdownLimit) } : {}),
      }
    : undefined;

/** The spec a submitted form asks for (validated by the insight itself). */
export function specFromForm(kind: InsightForm, q: Query): Record<string, unknown> {
  const range = { dateFrom: q.dateFrom || undefined, dateTo: q.dateTo };
  if (kind === 'funnel') {
    const days = int(q.windowDays);
    return {
      kind,
      ...range,
      steps: lines(q.steps),
      order: q.order || undefined,
      windowSeconds: days === undefined ? undefined : days * 86_400,
      breakdown: breakdownOf(q, false),
    };
  }
  if (kind === 'retention') {
    return {
      kind,
      ...range,
      targetEvent: q.targetEvent,
      returningEvent: q.returningEvent || undefined,
      period: q.period || undefined,
      totalIntervals: int(q.totalIntervals),
      retentionType: q.retentionType || undefined,
      breakdown: breakdownOf(q, true),
    };
  }
  return {
    kind,
    ...range,
    events: lines(q.events),
    interval: q.interval || undefined,
    math: q.math || undefined,
    mathProperty: q.mathProperty?.trim() || undefined,
  };
}

export interface InsightPageData {
  kind: InsightForm;
  query: Query;
  /** Known event names, most frequent first, offered while typing. */
  events: string[];
  defaults: { dateFrom: string; dateTo: string };
  result?: unknown;
  spec?: Record<string, unknown>;
  error?: string;
}

export function insightsPage(d: InsightPageData): string {
  const q = d.query;
  const v = (k: string, fallback = '') => q[k] ?? fallback;
  const tabs = html`<p>
    ${INSIGHT_FORMS.map((k) =>
      k === d.kind
        ? html`<strong class="badge">${k}</strong> `
        : html`<a class="badge" href="/insights${qs({ kind: k })}">${k}</a> `,
    )}
  </p>`;
  const select = (name: string, options: string[], current: string) =>
    html`<select id="${name}" name="${name}">
      ${options.map((o) => html`<option value="${o}" ${o === current ? html` selected` : html``}>${o}</option>`)}
    </select>`;
  const field = (name: string, label: string, control: SafeHtml) =>
    html`<div><label for="${name}">${label}</label>${control}</div>`;
  const text = (name: string, size = 18, placeholder = '') =>
    html`<input
      id="${name}"
      name="${name}"
      value="${v(name)}"
      size="${size}"
      placeholder="${placeholder}"
      list="event-names"
    />`;
  const range = html`<div class="row">
    ${field('dateFrom', d.kind === 'retention' ? 'From (optional: else the periods ending at To)' : 'From (YYYY-MM-DD)', html`<input id="dateFrom" name="dateFrom" value="${v('dateFrom', d.defaults.dateFrom)}" size="12" />`)}
    ${field('dateTo', 'To (YYYY-MM-DD)', html`<input id="dateTo" name="dateTo" value="${v('dateTo', d.defaults.dateTo)}" size="12" />`)}
  </div>`;
  const breakdown = (withLimit: boolean) =>
    html`<div class="row">
      ${field('breakdown', 'Breakdown by property', text('breakdown', 16, 'e.g. plan'))}
      ${field('breakdownType', 'of the', select('breakdownType', ['event', 'person', 'organization'], v('breakdownType', 'event')))}
      ${withLimit ? field('breakdownLimit', 'Values shown (rest: other)', html`<input id="breakdownLimit" name="breakdownLimit" value="${v('breakdownLimit')}" size="4" placeholder="25" />`) : html``}
    </div>`;
  const forms: Record<InsightForm, SafeHtml> = {
    funnel: html`${range}
      <label for="steps">Steps, one event per line</label>
      <textarea id="steps" name="steps">${v('steps')}</textarea>
      <div class="row">
        ${field('windowDays', 'Conversion window (days)', html`<input id="windowDays" name="windowDays" value="${v('windowDays', '14')}" size="4" />`)}
        ${field('order', 'Order', select('order', ['ordered', 'strict', 'unordered'], v('order', 'ordered')))}
      </div>
      ${breakdown(false)}`,
    retention: html`${range}
      <div class="row">
        ${field('targetEvent', 'Cohort event', text('targetEvent'))}
        ${field('returningEvent', 'Returning event (default: the same)', text('returningEvent'))}
      </div>
      <div class="row">
        ${field('period', 'Period', select('period', ['day', 'week', 'month'], v('period', 'week')))}
        ${field('totalIntervals', 'Periods', html`<input id="totalIntervals" name="totalIntervals" value="${v('totalIntervals', '8')}" size="4" />`)}
        ${field('retentionType', 'Type', select('retentionType', ['recurring', 'first_time'], v('retentionType', 'recurring')))}
      </div>
      ${breakdown(true)}`,
    trends: html`${range}
      <label for="events">Events, one per line</label>
      <textarea id="events" name="events">${v('events')}</textarea>
      <div class="row">
        ${field('interval', 'Interval', select('interval', ['day', 'week', 'month'], v('interval', 'week')))}
        ${field('math', 'Math', select('math', ['total', 'dau', 'unique_group', 'sum', 'avg', 'min', 'max'], v('math', 'total')))}
        ${field('mathProperty', 'Of property (sum, avg, min, max)', text('mathProperty', 14, 'e.g. amount'))}
      </div>`,
  };
  const body = html`<h1>Insights</h1>
    <p class="lead">
      Ad-hoc questions on the captured events, with PostHog's semantics (docs/insights.md). Dates are UTC.
    </p>
    ${tabs}
    <form method="get" action="/insights" class="panel">
      <input type="hidden" name="kind" value="${d.kind}" />
      ${forms[d.kind]}
      <p><button type="submit" name="run" value="1">Run</button></p>
    </form>
    <datalist id="event-names">${d.events.map((e) => html`<option value="${e}"></option>`)}</datalist>
    ${d.error ? html`<div class="error" role="alert">${d.error}</div>` : html``}
    ${d.result !== undefined ? html`<section id="result">${resultView(d.kind, d.result)}</section>` : html``}
    ${
      d.spec
        ? html`<details>
            <summary>The spec (for <code>sextant query</code> or <code>POST /api/query</code>)</summary>
            <pre>${JSON.stringify(d.spec, null, 2)}</pre>
          </details>`
        : html``
    }`;
  return page({ title: 'Insights', body, section: 'insights' });
}

function resultView(kind: InsightForm, result: unknown): SafeHtml {
  if (kind === 'funnel') return funnelView(result as FunnelResult);
  if (kind === 'retention') return retentionView(result as RetentionResult);
  return trendsView(result as TrendsResult);
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? NONE : formatPercent(x));
const valueName = (v: string | null) =>
  v === null ? '(no value)' : v === '$$_posthog_breakdown_other_$$' ? '(other values)' : v;

function funnelView(r: FunnelResult): SafeHtml {
  const table = (steps: NonNullable<FunnelResult['steps']>) =>
    html`<table class="funnel">
      <thead>
        <tr>
          <th>Step</th>
          <th class="num">People</th>
          <th class="num">From the first</th>
          <th class="num">From the previous</th>
          <th class="num">Median time from the previous</th>
        </tr>
      </thead>
      <tbody>
        ${steps.map(
          (s) =>
            html`<tr>
              <td>${s.name}</td>
              <td class="num">${s.count}</td>
              <td class="num">${pct(s.conversionFromFirst)}</td>
              <td class="num">${pct(s.conversionFromPrevious)}</td>
              <td class="num">
                ${s.medianSecondsFromPrevious === null ? NONE : formatSeconds(s.medianSecondsFromPrevious)}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
  if (r.breakdowns) {
    return r.breakdowns.length
      ? html`${r.breakdowns.map(
          (b) =>
            html`<h3 data-breakdown="${b.value ?? ''}">${valueName(b.value)}</h3>
              ${table(b.steps)}`,
        )}`
      : html`<p class="muted">No one entered the funnel.</p>`;
  }
  return table(r.steps ?? []);
}

function retentionTable(cohorts: RetentionCohort[]): SafeHtml {
  const width = Math.max(0, ...cohorts.map((c) => c.values.length));
  return html`<div class="scroll">
    <table class="retention">
      <thead>
        <tr>
          <th>Cohort</th>
          <th class="num">People</th>
          ${Array.from({ length: width }, (_, i) => html`<th class="num">${i === 0 ? 'Period 0' : `+${i}`}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${cohorts.map(
          (c) =>
            html`<tr>
              <td>${c.date}</td>
              <td class="num">${c.size}</td>
              ${c.values.map((n) => html`<td class="num" title="${n} people">${c.size > 0 ? formatPercent(n / c.size) : NONE}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function retentionView(r: RetentionResult): SafeHtml {
  if (r.breakdowns) {
    return r.breakdowns.length
      ? html`${r.breakdowns.map(
          (b) =>
            html`<h3 data-breakdown="${b.value ?? ''}">
                ${valueName(b.value)}
                <span class="muted">(${b.cohorts.reduce((s, c) => s + c.size, 0)} in all cohorts)</span>
              </h3>
              ${retentionTable(b.cohorts)}`,
        )}`
      : html`<p class="muted">No one did the cohort event in these periods.</p>`;
  }
  return retentionTable(r.cohorts ?? []);
}

function trendsView(r: TrendsResult): SafeHtml {
  const dates = r.series[0]?.points.map((p) => p.date) ?? [];
  return html`<div class="scroll">
    <table class="trends">
      <thead>
        <tr>
          <th>Interval</th>
          ${r.series.map((s) => html`<th class="num">${s.event}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${dates.map(
          (date, i) =>
            html`<tr>
              <td>${date}</td>
              ${r.series.map((s) => {
                const v = s.points[i]?.value ?? null;
                return html`<td class="num">
                  ${v === null ? NONE : Number.isInteger(v) ? String(v) : v.toFixed(2)}
                </td>`;
              })}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

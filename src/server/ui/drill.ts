import type { DrillDown } from '../../app/drilldown.js';
import { html } from '../../render/escape.js';
import { formatValue, NONE } from '../../render/format.js';
import { page, reviewPath } from './layout.js';

/** A drill-down: the customers or users behind a number. */
export function drillPage(product: string, month: string, d: DrillDown): string {
  const cell = (v: string | number | null, unit: DrillDown['columns'][number]['unit']) => {
    if (v === null || v === undefined || v === '') return NONE;
    if (unit === 'currency' && typeof v === 'number') return formatValue(v, 'currency', d.currency);
    if (unit === 'count' && typeof v === 'number') return formatValue(v, 'count', d.currency);
    if (unit === 'date' && typeof v === 'string') return v.slice(0, 10);
    return String(v);
  };
  const numeric = (u: string) => u === 'currency' || u === 'count' || u === 'score';
  const body = html`<p><a href="${reviewPath(product, month)}">← back to the review</a></p>
    <h1>${d.title}</h1>
    <p class="lead">
      ${d.note}${d.total > d.rows.length ? ` Showing the first ${d.rows.length} of ${d.total}.` : ''}
    </p>
    ${
      d.rows.length === 0
        ? html`<p class="muted">Nobody.</p>`
        : html`<div class="scroll">
            <table class="drill">
              <thead>
                <tr>
                  ${d.columns.map((c) => html`<th class="${numeric(c.unit) ? 'num' : ''}">${c.label}</th>`)}
                </tr>
              </thead>
              <tbody>
                ${d.rows.map(
                  (r) =>
                    html`<tr>
                      ${d.columns.map((c) => html`<td class="${numeric(c.unit) ? 'num' : ''}">${cell(r[c.key] ?? null, c.unit)}</td>`)}
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }`;
  return page({ title: d.title, body, section: 'reviews' });
}

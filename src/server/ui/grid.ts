import type { ReviewGrid } from '../../app/reviews.js';
import { html } from '../../render/escape.js';
import { page, reviewPath } from './layout.js';

const OUTCOME_LABEL: Record<string, string> = {
  continue: 'continue',
  reprioritize: 'reprioritize',
  'change-goals': 'change goals',
  'new-projects': 'new projects',
};

/** `/`: months × products — open a stored review, or build one now. */
export function gridPage(grid: ReviewGrid, flash?: string): string {
  const head = html`<tr>
    <th>Month</th>
    ${grid.products.map((p) => html`<th>${p === 'all' ? 'all (company)' : p}</th>`)}
  </tr>`;
  const rows = grid.months.map(
    (m) =>
      html`<tr>
        <th scope="row">${m}</th>
        ${grid.products.map((p) => {
          const c = grid.cells.get(`${m}|${p}`);
          const build = (label: string, quiet: boolean) =>
            html`<form class="inline" method="post" action="${reviewPath(p, m, '/build')}">
              <button class="small${quiet ? ' quiet' : ''}" title="build the ${p} review of ${m} now">
                ${label}
              </button>
            </form>`;
          if (!c?.generatedAt) {
            return html`<td data-cell="${m}|${p}">
              <div class="cell"><span class="muted">no review</span>${build('Build', false)}</div>
            </td>`;
          }
          const todos =
            c.openTodos + c.doneTodos > 0
              ? html`<span class="muted">${c.doneTodos} of ${c.openTodos + c.doneTodos} to-dos done</span>`
              : html``;
          const decision = c.decision
            ? html`<span class="badge ${c.decision}">${OUTCOME_LABEL[c.decision] ?? c.decision}</span>`
            : html`<span class="muted">no decision yet</span>`;
          return html`<td data-cell="${m}|${p}">
            <div class="cell">
              <a href="${reviewPath(p, m)}">Open review</a>
              ${decision} ${todos} ${build('Rebuild', true)}
            </div>
          </td>`;
        })}
      </tr>`,
  );
  const body = html`<h1>Growth reviews</h1>
    <p class="lead">
      One review per month and product. Open one to read it, record the decision and its to-dos, and see how
      last month's decisions moved their metrics. Building runs the whole review now (a few seconds on a
      laptop); events keep being captured meanwhile.
    </p>
    ${flash ? html`<div class="flash">${flash}</div>` : html``}
    <div class="scroll">
      <table class="grid">
        <thead>
          ${head}
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>`;
  return page({ title: 'Reviews', body, section: 'reviews' });
}

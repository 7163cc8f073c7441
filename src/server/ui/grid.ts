import type { ReviewGrid } from '../../app/reviews.js';
import type { ScheduleStatus } from '../../app/schedule.js';
import { html } from '../../render/escape.js';
import { page, reviewPath } from './layout.js';

const OUTCOME_LABEL: Record<string, string> = {
  continue: 'continue',
  reprioritize: 'reprioritize',
  'change-goals': 'change goals',
  'new-projects': 'new projects',
};

/** `/`: months × products — open a stored review, or build one now. */
export function gridPage(grid: ReviewGrid, flash?: string, schedule?: ScheduleStatus): string {
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
    ${flash ? html`<div class="flash">${flash}</div>` : html``} ${schedule ? scheduleLine(schedule) : html``}
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

const CHANNEL: Record<string, string> = { slack: 'Slack', email: 'e-mail' };
const when = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/** What the monthly schedule is set to and what it did last. */
function scheduleLine(s: ScheduleStatus) {
  if (!s.enabled) {
    return html`<p class="muted" id="schedule">
      Reviews are built when someone asks (<code>server.schedule</code> in the config builds them every
      month).
    </p>`;
  }
  const last = s.runs[0];
  const lastText = last
    ? last.builtAt
      ? html` Last: ${last.product} ${last.month}, built ${when(last.builtAt)} UTC.`
      : html` Last: ${last.product} ${last.month}, <span class="down">not built</span> (attempt
          ${last.attempts}${last.error ? html`: ${last.error}` : html``}).`
    : html``;
  const to = s.channels.length
    ? html`; the summary goes to ${s.channels.map((c) => CHANNEL[c] ?? c).join(' and ')}`
    : html``;
  return html`<p class="muted" id="schedule">
    Every month on day ${s.day} at ${s.time} UTC the server builds the reviews of the month before
    (${s.products.join(', ')})${to}. Next: ${s.next ? when(s.next) : ''} UTC.${lastText}
  </p>`;
}

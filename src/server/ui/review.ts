import type { PastDecision } from '../../app/decisions.js';
import { canDrillFinding, canDrillMetric } from '../../app/drilldown.js';
import type { Decision, Metric, Review, Todo } from '../../domain/review.js';
import { html, type SafeHtml } from '../../render/escape.js';
import { formatChange, formatValue, NONE } from '../../render/format.js';
import { OUTCOMES } from '../../review/decisions.js';
import { page, qs, reviewPath } from './layout.js';

export interface ReviewPageData {
  review: Review;
  decision: Decision | null;
  todos: Todo[];
  history: PastDecision[];
  flash?: string;
}

const OUTCOME_TEXT: Record<string, string> = {
  continue: 'Continue as planned',
  reprioritize: 'Reprioritize',
  'change-goals': 'Change goals',
  'new-projects': 'Start new projects',
};

/** `/reviews/:product/:month`: the meeting's page — decide, to-dos, what moved, and where the numbers come from. */
export function reviewPage(d: ReviewPageData): string {
  const r = d.review;
  const here = reviewPath(r.product, r.month);
  const byId = new Map(r.metrics.map((m) => [m.id, m]));
  const label = (id: string) => byId.get(id)?.label ?? id;
  const drill = (metricId: string, month: string) => `${here}/drill${qs({ metric: metricId, month })}`;

  const highlights = r.highlights.length
    ? html`<ol>
        ${r.highlights.map((h) => {
          const [kind, id] = [h.source.split(':')[0], h.source.slice(h.source.indexOf(':') + 1)];
          // A deep dive's highlight is one of its findings: the same title.
          const finding =
            kind === 'dive'
              ? (r.deepDives.find((x) => x.id === id)?.findings.findIndex((f) => f.title === h.title) ?? -1)
              : -1;
          const link =
            (kind === 'anomaly' || kind === 'metric') && canDrillMetric(id)
              ? html` <a href="${drill(id, r.month)}">who is behind it</a>`
              : finding >= 0 && canDrillFinding(r, id, finding)
                ? html` <a href="${here}/drill${qs({ dive: id, finding })}">who is behind it</a>`
                : html``;
          return html`<li><strong>${h.title}</strong> <span class="muted">${h.detail}</span>${link}</li>`;
        })}
      </ol>`
    : html`<p class="muted">Nothing stood out this month.</p>`;

  const body = html`<h1>${r.product === 'all' ? 'The company' : r.product} · ${r.month}</h1>
    <p class="lead">
      Built ${r.generatedAt.slice(0, 16).replace('T', ' ')} UTC ·
      <a href="${here}/document">Read the review document</a> ·
      <a href="/">All reviews</a>
      <form class="inline" method="post" action="${here}/build"><button class="quiet small">Rebuild now</button></form>
    </p>
    ${d.flash ? html`<div class="flash" role="status">${d.flash}</div>` : html``}
    <h2>Highlights</h2>
    ${highlights}
    <div class="columns">
      <section id="decision" class="panel">${decisionSection(d, here, label)}</section>
      <section id="todos" class="panel">${todoSection(d, here, label)}</section>
    </div>
    <h2 id="previous">Previous decisions and how their metrics moved</h2>
    ${historySection(d.history, r, label)}
    <h2 id="metrics">Metrics</h2>
    <p class="muted">Each underlined value opens the customers or users behind it.</p>
    ${metricsTable(r, drill)}
    <h2 id="findings">Findings</h2>
    ${findingsSection(r, here)}`;
  return page({ title: `${r.product} ${r.month}`, body, section: 'reviews' });
}

/**
 * A list to pick the metrics a decision or a to-do follows up, by their labels (the value sent is
 * the metric's id, which the decision loop stores). Hold Ctrl/Cmd to pick several.
 */
function metricPicker(id: string, r: Review, chosen: readonly string[]): SafeHtml {
  const picked = new Set(chosen);
  return html`<select id="${id}" name="metrics" multiple size="5">
    ${r.metrics.map(
      (m) => html`<option value="${m.id}" ${picked.has(m.id) ? html` selected` : html``}>${m.label}</option>`,
    )}
  </select>`;
}

function decisionSection(d: ReviewPageData, here: string, label: (id: string) => string): SafeHtml {
  const current = d.decision
    ? html`<p data-testid="decision">
        <span class="badge ${d.decision.outcome}"
          >${OUTCOME_TEXT[d.decision.outcome] ?? d.decision.outcome}</span
        >
        ${d.decision.note ? html`— ${d.decision.note}` : html``}
        ${d.decision.metricIds.length ? html`<br /><span class="muted">follows up: ${d.decision.metricIds.map(label).join(', ')}</span>` : html``}
      </p>`
    : html`<p class="muted" data-testid="decision">No decision recorded yet.</p>`;
  const options = OUTCOMES.map(
    (o) =>
      html`<option value="${o}" ${d.decision?.outcome === o ? html` selected` : html``}>
        ${OUTCOME_TEXT[o] ?? o}
      </option>`,
  );
  return html`<h2>The decision</h2>
    ${current}
    <form method="post" action="${here}/decision">
      <label for="outcome">Outcome</label>
      <select id="outcome" name="outcome">
        ${options}
      </select>
      <label for="note">Note</label>
      <textarea id="note" name="note">${d.decision?.note ?? ''}</textarea>
      <label for="decision-metrics">Metrics to follow up next month (Ctrl/Cmd to pick several)</label>
      ${metricPicker('decision-metrics', d.review, d.decision?.metricIds ?? [])}
      <p><button type="submit">Record the decision</button></p>
    </form>`;
}

function todoSection(d: ReviewPageData, here: string, label: (id: string) => string): SafeHtml {
  const items = d.todos.map(
    (t) =>
      html`<li class="${t.status}" data-todo="${t.id}">
        <form class="inline" method="post" action="/todos/${t.id}/${t.status === 'done' ? 'reopen' : 'done'}">
          <input type="hidden" name="back" value="${here}#todos" />
          <button
            class="small${t.status === 'done' ? ' quiet' : ''}"
            title="${t.status === 'done' ? 'mark it open again' : 'tick it off'}"
          >
            ${t.status === 'done' ? 'Reopen' : 'Done'}
          </button>
        </form>
        <span class="title"
          >${t.title}${t.metricIds.length ? html` <span class="muted">(${t.metricIds.map(label).join(', ')})</span>` : html``}</span
        >
        <form class="inline" method="post" action="/todos/${t.id}/owner">
          <input type="hidden" name="back" value="${here}#todos" />
          <input
            name="owner"
            value="${t.owner ?? ''}"
            placeholder="owner"
            size="10"
            aria-label="owner of ${t.title}"
          />
          <button class="small quiet">Assign</button>
        </form>
      </li>`,
  );
  return html`<h2>To-dos</h2>
    ${
      d.todos.length
        ? html`<ul class="todos">
            ${items}
          </ul>`
        : html`<p class="muted">No to-dos yet.</p>`
    }
    <form method="post" action="${here}/todos">
      <label for="todo-title">New to-do</label>
      <input id="todo-title" name="title" required size="36" placeholder="what to do" />
      <div class="row top">
        <div>
          <label for="todo-owner">Owner</label>
          <input id="todo-owner" name="owner" size="12" />
        </div>
        <div>
          <label for="todo-metrics">Metrics it moves</label>
          ${metricPicker('todo-metrics', d.review, [])}
        </div>
        <div><button type="submit">Add</button></div>
      </div>
    </form>`;
}

function historySection(history: PastDecision[], r: Review, label: (id: string) => string): SafeHtml {
  if (history.length === 0)
    return html`<p class="muted">No earlier decisions or to-dos for ${r.product}.</p>`;
  const unitOf = (id: string) => r.metrics.find((m) => m.id === id)?.unit ?? 'count';
  return html`${history.map(
    (h) =>
      html`<div class="panel" data-month="${h.month}">
        <h3>
          <a href="${reviewPath(r.product, h.month)}">${h.month}</a>:
          ${h.decision ? html`<span class="badge ${h.decision.outcome}">${OUTCOME_TEXT[h.decision.outcome] ?? h.decision.outcome}</span> ${h.decision.note ?? ''}` : html`<span class="muted">no decision recorded</span>`}
        </h3>
        ${
          h.todos.length
            ? html`<ul>
                ${h.todos.map((t) => html`<li>${t.status === 'done' ? '✓ done' : '○ open'}: ${t.title}${t.owner ? html` <span class="muted">(${t.owner})</span>` : html``}</li>`)}
              </ul>`
            : html``
        }
        ${
          h.metricsSince.length
            ? html`<table>
                <thead>
                  <tr>
                    <th>Metric it named</th>
                    <th class="num">${h.month}</th>
                    <th class="num">${r.month}</th>
                    <th class="num">Moved</th>
                  </tr>
                </thead>
                <tbody>
                  ${h.metricsSince.map((m) => {
                    const u = unitOf(m.metricId);
                    const cls = m.change === null || m.change === 0 ? '' : m.change > 0 ? 'up' : 'down';
                    const moved =
                      m.change === null
                        ? NONE
                        : `${m.change > 0 ? '+' : m.change < 0 ? '−' : ''}${formatValue(Math.abs(m.change), u, r.currency)}`;
                    return html`<tr>
                      <td>${label(m.metricId)}</td>
                      <td class="num">${formatValue(m.then, u, r.currency)}</td>
                      <td class="num">${formatValue(m.now, u, r.currency)}</td>
                      <td class="num ${cls}">${moved}</td>
                    </tr>`;
                  })}
                </tbody>
              </table>`
            : html`<p class="muted">It named no metrics to follow up.</p>`
        }
      </div>`,
  )}`;
}

function metricsTable(r: Review, drill: (id: string, month: string) => string): SafeHtml {
  const months = r.metrics[0]?.series.map((p) => p.month) ?? [];
  const anomalous = new Set(r.anomalies.map((a) => `${a.metricId}|${a.month}`));
  const row = (m: Metric) =>
    html`<tr data-metric="${m.id}">
      <td>${m.label}</td>
      ${m.series.map((p) => {
        const text = formatValue(p.value, m.unit, r.currency, { compact: true });
        const flag = anomalous.has(`${m.id}|${p.month}`)
          ? html` <span title="anomaly" class="down">●</span>`
          : html``;
        const cell =
          p.value !== null && canDrillMetric(m.id)
            ? html`<a href="${drill(m.id, p.month)}" title="who is behind ${m.label} in ${p.month}"
                >${text}</a
              >`
            : html`${text}`;
        return html`<td class="num">${cell}${flag}</td>`;
      })}
      <td class="num">${formatChange(m.change, m.changeKind, m.unit)}</td>
    </tr>`;
  return html`<div class="scroll">
    <table class="metrics">
      <thead>
        <tr>
          <th>Metric</th>
          ${months.map((m) => html`<th class="num">${m}</th>`)}
          <th class="num">Change</th>
        </tr>
      </thead>
      <tbody>
        ${r.metrics.map(row)}
      </tbody>
    </table>
  </div>`;
}

function findingsSection(r: Review, here: string): SafeHtml {
  return html`${r.deepDives.map(
    (d) =>
      html`<div class="panel" data-dive="${d.id}">
        <h3>${d.question}</h3>
        <p>${d.summary}</p>
        ${
          d.findings.length
            ? html`<ul>
                ${d.findings.map(
                  (f, i) =>
                    html`<li>
                      <strong>${f.title}</strong>
                      <span class="muted">${f.detail}</span>
                      ${canDrillFinding(r, d.id, i) ? html` <a href="${here}/drill${qs({ dive: d.id, finding: i })}">who is behind it</a>` : html``}
                    </li>`,
                )}
              </ul>`
            : html``
        }
      </div>`,
  )}`;
}

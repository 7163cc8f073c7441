import type { LaunchEffect, LaunchReview, Review } from '../domain/review.js';
import { html, idSlug, type SafeHtml } from './escape.js';
import { escapeMarkdown as md } from './escape.js';
import { formatPercent, formatPValue, NONE } from './format.js';

/**
 * "What we shipped" (SPEC §5 `launches[]`, docs/analyses.md#launches): per product, the launches
 * of the review month, then those of the three months before; per launch its target metrics, the
 * effect with its 95% interval, and the verdict in words. Pure: HTML through html``, Markdown
 * through escapeMarkdown — titles and notes are user text.
 */

export const LAUNCHES_CSS = `
section.launch { border-top: 1px solid var(--line); padding-top: 2px; break-inside: avoid-page; }
.verdict { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.verdict-moved-up { background: #d8f0e2; color: #14532d; } .verdict-moved-down { background: #fbd9d6; color: #7f1d1d; }
.verdict-no-effect { background: #eceff3; color: #374151; } .verdict-not-enough-data { background: #eee; color: #555; }
.verdict-split-broken { background: #fff0c2; color: #7a4b00; }
td.statement { font-size: 12px; color: var(--muted); min-width: 320px; }
`;

const KIND_WORDS: Record<LaunchReview['kind'], string> = {
  experiment: 'experiment',
  rollout: 'flag rollout, no control group',
  launch: 'launch without a control group',
};

const METHOD_WORDS: Record<string, string> = {
  experiment: 'vs control',
  'interrupted-time-series': 'vs its own history',
  'not-yet-exposed': 'vs not yet exposed',
};

/** The verdict in words: moved (up or down), no detectable effect, not enough data, split broken. */
export function verdictWords(e: LaunchEffect): string {
  switch (e.verdict) {
    case 'moved':
      return (e.estimate ?? 0) >= 0 ? 'moved up' : 'moved down';
    case 'no-effect':
      return 'no detectable effect';
    case 'not-enough-data':
      return 'not enough data';
    case 'split-broken':
      return 'split broken';
  }
}

function verdictClass(e: LaunchEffect): string {
  return e.verdict === 'moved'
    ? `verdict-moved-${(e.estimate ?? 0) >= 0 ? 'up' : 'down'}`
    : `verdict-${e.verdict}`;
}

function signed(x: number): string {
  const s = formatPercent(x);
  return x > 0 && /[1-9]/.test(s) ? `+${s}` : s;
}

function effectText(e: LaunchEffect): string {
  return e.estimate === null ? NONE : signed(e.estimate);
}

function intervalText(e: LaunchEffect): string {
  return e.interval ? `${signed(e.interval[0])} to ${signed(e.interval[1])}` : NONE;
}

function pText(e: LaunchEffect): string {
  const p = e.evidence.pValue;
  return typeof p === 'number' ? formatPValue(p) : NONE;
}

/** Metric ids by their labels (the review's metrics); ids themselves when no labeller is given. */
type MetricLabel = (id: string) => string;
const asIs: MetricLabel = (id) => id;

function metricText(e: LaunchEffect, label: MetricLabel): string {
  return e.variant ? `${label(e.metricId)} (${e.variant})` : label(e.metricId);
}

function byProduct(launches: readonly LaunchReview[]): [string, LaunchReview[]][] {
  const groups = new Map<string, LaunchReview[]>();
  for (const l of launches) groups.set(l.product, [...(groups.get(l.product) ?? []), l]);
  return [...groups.entries()].sort(([a], [b]) => (a === 'all' ? -1 : b === 'all' ? 1 : a < b ? -1 : 1));
}

function headline(l: LaunchReview): string {
  return `${l.date} · ${KIND_WORDS[l.kind]}${l.flag ? ` · flag ${l.flag}` : ''}`;
}

// ---- HTML ---------------------------------------------------------------------------------------

function launchHtml(l: LaunchReview, label: MetricLabel): SafeHtml {
  const id = `launch-${idSlug(`${l.date}-${l.title}`)}`;
  return html`<section class="launch" id="${id}">
    <h4>${l.title} <span class="tag">${l.inMonth ? 'this month' : 'earlier'}</span></h4>
    <p class="meta">
      ${headline(l)}${l.metrics.length ? ` · should move ${l.metrics.map(label).join(', ')}` : ''}
    </p>
    ${
      l.effects.length
        ? html`<div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th class="text">Metric</th>
                  <th class="text">Compared</th>
                  <th>Effect</th>
                  <th>95% interval</th>
                  <th>p</th>
                  <th class="text">Verdict</th>
                  <th class="text">In words</th>
                </tr>
              </thead>
              <tbody>
                ${l.effects.map(
                  (e) =>
                    html`<tr>
                      <td class="text">${metricText(e, label)}</td>
                      <td class="text">${METHOD_WORDS[e.method] ?? e.method}</td>
                      <td>${effectText(e)}</td>
                      <td>${intervalText(e)}</td>
                      <td>${pText(e)}</td>
                      <td class="text"><span class="verdict ${verdictClass(e)}">${verdictWords(e)}</span></td>
                      <td class="text statement">${e.statement}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : ''
    }
    ${l.notes.length ? html`<p class="method">${l.notes.join(' · ')}</p>` : ''}
    ${(l.todos ?? []).map((t) => html`<p class="meta">From to-do #${t.id} (${t.month}): ${t.title} — ${t.status}</p>`)}
  </section>`;
}

export function launchesHtml(r: Review, label: MetricLabel = asIs): SafeHtml {
  const launches = r.launches ?? [];
  const body = launches.length
    ? byProduct(launches).map(
        ([product, ls]) =>
          html`<h3>${product === 'all' ? 'Whole company' : product}</h3>
            ${ls.filter((l) => l.inMonth).map((l) => launchHtml(l, label))}
            ${ls.some((l) => !l.inMonth) ? html`<p class="muted">The three months before:</p>` : ''}
            ${ls.filter((l) => !l.inMonth).map((l) => launchHtml(l, label))}`,
      )
    : html`<p class="no-data">
        No launches recorded for this month or the three before (config <code>launches:</code> or
        <code>sextant launch add</code>).
      </p>`;
  return html`<section id="launches" class="launches">
    <h2>What we shipped</h2>
    ${body}
  </section>`;
}

// ---- Markdown -----------------------------------------------------------------------------------

function launchMarkdown(l: LaunchReview, label: MetricLabel): string {
  const parts = [
    `#### ${md(l.title)}${l.inMonth ? '' : ' _(earlier)_'}`,
    `${md(headline(l))}${l.metrics.length ? ` · should move ${md(l.metrics.map(label).join(', '))}` : ''}`,
  ];
  if (l.effects.length) {
    const rows = l.effects.map((e) =>
      [
        md(metricText(e, label)),
        md(METHOD_WORDS[e.method] ?? e.method),
        md(effectText(e)),
        md(intervalText(e)),
        md(pText(e)),
        `**${md(verdictWords(e))}**`,
        md(e.statement),
      ].join(' | '),
    );
    parts.push(
      [
        '| Metric | Compared | Effect | 95% interval | p | Verdict | In words |',
        '| :--- | :--- | ---: | ---: | ---: | :--- | :--- |',
        ...rows.map((r) => `| ${r} |`),
      ].join('\n'),
    );
  }
  if (l.notes.length) parts.push(`_${md(l.notes.join(' · '))}_`);
  for (const t of l.todos ?? [])
    parts.push(`From to-do #${t.id} (${md(t.month)}): ${md(t.title)} — ${t.status}`);
  return parts.join('\n\n');
}

export function launchesMarkdown(r: Review, label: MetricLabel = asIs): string {
  const launches = r.launches ?? [];
  if (launches.length === 0) {
    return '## What we shipped\n\n_No launches recorded for this month or the three before (config `launches:` or `sextant launch add`)._';
  }
  const out = ['## What we shipped'];
  for (const [product, ls] of byProduct(launches)) {
    out.push(`### ${md(product === 'all' ? 'Whole company' : product)}`);
    out.push(...ls.filter((l) => l.inMonth).map((l) => launchMarkdown(l, label)));
    if (ls.some((l) => !l.inMonth)) out.push('_The three months before:_');
    out.push(...ls.filter((l) => !l.inMonth).map((l) => launchMarkdown(l, label)));
  }
  return out.join('\n\n');
}

import { monthsEndingAt } from '../domain/month.js';
import type { DeepDive, Metric, PreviousReview, Review } from '../domain/review.js';
import { num, sparkline, text } from './charts.js';
import { escapeMarkdown as md, idSlug } from './escape.js';
import { changeBetween, formatChange, formatMetricChange, formatMoney, formatValue, NONE } from './format.js';
import { launchesMarkdown } from './launches.js';
import { diveTitle, labelsOf, metricScope } from './labels.js';
import {
  GROUPS,
  diveLayout,
  evidenceText,
  factText,
  feedbackView,
  kpiMetrics,
  mrrMovements,
  signalsText,
  type DataTable,
} from './layout.js';

/**
 * review.md: the same content as index.html for a GitHub pull request or a chat message — tables,
 * and the charts as SVG files beside it, referenced by the relative path `chartFile(name)` gives.
 * Every piece of text from the data goes through escapeMarkdown (pipes, emphasis, links, HTML).
 */

export interface MarkdownOptions {
  /** The relative path the Markdown uses for a chart named `name` (`[a-z0-9-]`). */
  chartFile?: (name: string) => string;
}

export interface ChartFile {
  /** The chart's name. */
  name: string;
  /** Where the Markdown expects it, relative to review.md: `chartFile(name)`. */
  path: string;
  svg: string;
}

export const defaultChartFile = (name: string): string => `charts/${name}.svg`;

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: string[], align: ('l' | 'r')[], rows: string[][]): string {
  return [row(head), row(align.map((a) => (a === 'r' ? '---:' : ':---'))), ...rows.map(row)].join('\n');
}

function dataTable(t: DataTable, currency: string): string {
  if (t.rows.length === 0) return `_${md(t.title)}: no data._`;
  const lines = table(
    t.columns.map((c) => md(c.label)),
    t.columns.map((c) => (c.text ? 'l' : 'r')),
    t.rows.map((r) =>
      t.columns.map((c) => {
        if (c.key === 'signals') return md(signalsText(r.signals).join('; ') || NONE);
        if (c.key === 'name') return md(factText(c.key, r.name ?? r.organization, currency));
        return md(factText(c.key, r[c.key], currency));
      }),
    ),
  );
  const more = t.total > t.rows.length ? `\n\n_Showing ${t.rows.length} of ${t.total}._` : '';
  return `**${md(t.title)}**\n\n${lines}${more}`;
}

export function renderMarkdown(
  review: Review,
  opts: MarkdownOptions = {},
): { markdown: string; files: ChartFile[] } {
  const chartFile = opts.chartFile ?? defaultChartFile;
  const files: ChartFile[] = [];
  const image = (name: string, alt: string, svg: string): string => {
    const path = chartFile(name);
    files.push({ name, path, svg });
    return `![${md(alt)}](${encodeURI(path)})`;
  };
  const r = review;
  const cur = r.currency;
  const out: string[] = [];

  const l = labelsOf(r);
  out.push(`# Growth review — ${md(r.product === 'all' ? 'the whole company' : r.product)}, ${md(r.month)}`);
  out.push(
    `Money in ${md(cur)}. Generated ${md(r.generatedAt)}.` +
      (r.product === 'all'
        ? ''
        : ' Revenue and usage are this product’s; feedback marked _company-wide_ is not.'),
  );
  // A month the data does not fully cover says so before anything else.
  const statement = r.dataCoverage?.statement;
  if (statement)
    out.push(
      `> **${r.dataCoverage.status === 'outside' ? 'Outside the data' : 'Incomplete month'}.** ${md(statement)}`,
    );
  out.push(
    'Contents: ' +
      [
        ['At a glance', 'at-a-glance'],
        ['Month by month', 'month-by-month'],
        ['MRR movements', 'mrr-movements'],
        ['Feedback', 'feedback'],
        ['Deep dives', 'deep-dives'],
        ['What we shipped', 'what-we-shipped'],
        ['Data', 'data'],
      ]
        .map(([t, a]) => `[${t}](#${a})`)
        .join(' · '),
  );

  out.push('## At a glance');
  const { outputs, inputs } = kpiMetrics(r.metrics);
  const kpiRows = [...outputs, ...inputs].map((m) => [
    md(m.label) + (metricScope(r, m)?.includes('company') ? ' _(company-wide)_' : ''),
    md(formatValue(m.current, m.unit, cur)),
    md(formatMetricChange(m, cur)),
    md(formatValue(m.previous, m.unit, cur)),
  ]);
  if (kpiRows.length)
    out.push(table(['Metric', r.month, 'Change', 'Last month'], ['l', 'r', 'r', 'r'], kpiRows));
  out.push('### Highlights');
  out.push(
    r.highlights.length
      ? r.highlights
          .slice(0, 5)
          .map((h, i) => `${i + 1}. **${md(h.title)}** (${md(l.source(h.source))}): ${md(h.detail)}`)
          .join('\n')
      : '_Nothing stood out this month._',
  );
  out.push(previous(r.previous, r));

  out.push('## Month by month');
  const months = monthsEndingAt(r.month, 13);
  const known = new Set<string>(GROUPS.map((g) => g.id));
  const groups = [...GROUPS, { id: 'other', label: 'Other' }];
  for (const g of groups) {
    const ms = r.metrics.filter((m) => (known.has(m.group) ? m.group === g.id : g.id === 'other'));
    if (ms.length === 0) continue;
    out.push(`### ${g.label}`);
    out.push(
      table(
        ['Metric', 'Trend', ...months, 'vs last month'],
        ['l', 'l', ...months.map(() => 'r' as const), 'r'],
        ms.map((m) => metricCells(m, months, r, image)),
      ),
    );
  }
  out.push(
    '▲/▼ marks an anomaly (unusually high / low against the months before), explained below. n/a: cannot be computed ' +
      'for that month. The last column is the change from last month: relative, in points for rates and NPS, and in ' +
      'money where a month is zero or negative.',
  );
  if (r.anomalies.length) {
    out.push('### Anomalies');
    out.push(
      r.anomalies
        .map(
          (a) =>
            `- **${md(l.metric(a.metricId))}**, ${md(a.month)} ${a.direction === 'up' ? '▲' : '▼'}: ${md(a.explanation)}`,
        )
        .join('\n'),
    );
  } else out.push('_No anomalies this month._');

  out.push('## MRR movements');
  const mv = mrrMovements(r);
  out.push(
    mv
      ? table(
          ['', 'Amount'],
          ['l', 'r'],
          mv.steps.map((s) => [
            s.total ? `**${s.label}**` : s.label,
            md(`${!s.total && s.value > 0 ? '+' : ''}${formatMoney(s.value, cur)}`),
          ]),
        )
      : '_No revenue data for this month and the one before: no movements to show._',
  );

  out.push('## Feedback');
  out.push(feedbackMarkdown(r));

  out.push('## Deep dives');
  for (const d of r.deepDives) out.push(deepDive(d, cur, image));
  if (r.deepDives.length === 0) out.push('_No deep dives._');

  out.push(launchesMarkdown(r, l.metric));

  out.push('## Data');
  out.push(coverage(r));

  out.push('## Questions and comments');
  out.push(
    '_None yet. Add questions and comments for the meeting as comments on this pull request or message._',
  );

  return { markdown: out.join('\n\n') + '\n', files };
}

function coverage(r: Review): string {
  const c = r.dataCoverage;
  const n = (v: unknown) => formatValue(num(v), 'count', r.currency);
  const span = (first: string | null | undefined, last: string | null | undefined) =>
    first || last ? ` (${text(first).slice(0, 10) || '?'} to ${text(last).slice(0, 10) || '?'})` : '';
  const period = c?.period;
  return [
    ...(c?.first || c?.last
      ? [
          `- Data: ${md(text(c.first) || '?')} to ${md(text(c.last) || '?')}; ${md(r.month)}: ${
            period ? `${period.coveredDays} of ${period.days} days covered` : 'coverage unknown'
          } (${md(c.status ?? 'complete')})`,
        ]
      : []),
    `- Events: ${n(c?.events?.count)}${md(span(c?.events?.first, c?.events?.last))}; ${n(c?.persons)} people, ${n(c?.organizations)} organizations; ${c?.monthsWithEvents?.length ?? 0} of the 13 months have events.`,
    `- Billing: ${n(c?.billing?.customers)} customers, ${n(c?.billing?.invoiceLines)} invoice lines, ${n(c?.billing?.subscriptionRows)} subscription rows${md(span(c?.billing?.first, c?.billing?.last))}; ${c?.monthsWithBilling?.length ?? 0} of the 13 months have billing.`,
    `- Feedback: ${n(c?.feedback?.count)} items${md(span(c?.feedback?.first, c?.feedback?.last))}`,
    ...(c?.notes ?? []).map((note) => `- ${md(note)}`),
  ].join('\n');
}

function metricCells(
  m: Metric,
  months: string[],
  r: Review,
  image: (name: string, alt: string, svg: string) => string,
): string[] {
  const byMonth = new Map(m.series.map((p) => [p.month, p.value]));
  const cells = months.map((mo) => {
    const v = formatValue(byMonth.get(mo) ?? null, m.unit, r.currency, { compact: true });
    const a = r.anomalies.find((x) => x.metricId === m.id && x.month === mo);
    return md(v) + (a ? (a.direction === 'up' ? ' ▲' : ' ▼') : '');
  });
  return [
    md(m.label) + (metricScope(r, m)?.includes('company') ? ' _(company-wide)_' : ''),
    image(`spark-${idSlug(m.id)}`, `${m.label} trend`, sparkline(m, r.anomalies)),
    ...cells,
    md(formatMetricChange(m, r.currency)),
  ];
}

function deepDive(
  d: DeepDive,
  currency: string,
  image: (name: string, alt: string, svg: string) => string,
): string {
  const l = diveLayout(d);
  const parts: string[] = [
    `### ${md(diveTitle(d.id))}: ${md(d.question)}`,
    md(d.summary, { lineStart: true }),
  ];
  const first = l.charts[0];
  if (first) parts.push(image(first.name, first.title, first.svg));
  parts.push(`<details><summary>Method, samples and tests</summary>`);
  parts.push(`_Method:_ ${md(d.method)}`);
  const facts = (items: [string, string, unknown][]) =>
    items.map(([label, key, v]) => `${md(label)}: ${md(factText(key, v, currency))}`).join(' · ');
  if (l.findings.length) {
    parts.push(
      l.findings
        .map((f) => {
          const ev = evidenceText(f, currency);
          return `- **${md(f.title)}**: ${md(f.detail)}${ev.length ? `\n  - ${ev.map(([k, v]) => `${md(k)}: ${md(v)}`).join(' · ')}` : ''}`;
        })
        .join('\n'),
    );
  }
  if (l.facts.length) parts.push(facts(l.facts));
  for (const c of l.charts.slice(1)) parts.push(image(c.name, c.title, c.svg));
  for (const t of l.tables) parts.push(dataTable(t, currency));
  parts.push('</details>');
  return parts.join('\n\n');
}

function previous(p: PreviousReview | null, r: Review): string {
  if (!p) return '### Last decision\n\n_No previous review recorded: this is the first._';
  const l = labelsOf(r);
  const parts: string[] = [`### Last decision (${md(p.month)})`];
  const d = p.decision;
  parts.push(
    d
      ? `**Decision:** ${md(d.outcome)}${d.note ? ` — ${md(d.note)}` : ''} (${md(text(d.decidedAt).slice(0, 10))})`
      : '_No decision was recorded._',
  );
  parts.push('#### To-dos');
  parts.push(
    p.todos.length
      ? table(
          ['#', 'To-do', 'Owner', 'Status', 'Done', 'Metrics'],
          ['r', 'l', 'l', 'l', 'l', 'l'],
          p.todos.map((t) => [
            md(t.id),
            md(t.title),
            md(t.owner ?? NONE),
            t.status === 'done' ? '✓ done' : 'open',
            md(t.doneAt ? text(t.doneAt).slice(0, 10) : NONE),
            md(t.metricIds.map(l.metric).join(', ') || NONE),
          ]),
        )
      : '_No to-dos were recorded._',
  );
  parts.push('#### How the named metrics moved since');
  const byId = new Map(r.metrics.map((m) => [m.id, m]));
  parts.push(
    p.metricsSince.length
      ? table(
          ['Metric', 'Then', 'Now', 'Change'],
          ['l', 'r', 'r', 'r'],
          p.metricsSince.map((s) => {
            const m = byId.get(s.metricId);
            const unit = m?.unit ?? 'count';
            return [
              md(l.metric(s.metricId)),
              md(formatValue(s.then, unit, r.currency)),
              md(formatValue(s.now, unit, r.currency)),
              md(
                formatChange(
                  changeBetween(s.then, s.now, m?.changeKind ?? 'relative'),
                  m?.changeKind ?? 'relative',
                  unit,
                ),
              ),
            ];
          }),
        )
      : '_The decision and to-dos named no metrics._',
  );
  return parts.join('\n\n');
}

function feedbackMarkdown(r: Review): string {
  const f = feedbackView(r);
  const out: string[] = [];
  if (r.product !== 'all')
    out.push(
      '_Company-wide: NPS answers count for every product; other feedback unless it is tagged for a product._',
    );
  out.push(
    f.nps
      ? `**NPS ${md(formatValue(f.nps.value, 'nps', r.currency))}**` +
          (f.nps.low !== null && f.nps.high !== null
            ? ` (95% interval ${md(formatValue(f.nps.low, 'nps', r.currency))} to ${md(formatValue(f.nps.high, 'nps', r.currency))})`
            : '') +
          ` from ${md(formatValue(f.nps.responses, 'count', r.currency))} answers${f.nps.change ? `, ${md(f.nps.change)} vs last month` : ''}.`
      : '_No NPS answers this month._',
  );
  if (f.counts.length)
    out.push(f.counts.map((c) => `${md(c.label)}: **${md(c.value)}** (${md(c.change)})`).join(' · '));
  const themes = (title: string, ts: typeof f.requestThemes) =>
    `**${title}**\n\n` +
    (ts.length
      ? ts
          .map(
            (t, i) =>
              `${i + 1}. ${md(t.theme)} (${t.count})` + t.quotes.map((q) => `\n   > “${md(q)}”`).join(''),
          )
          .join('\n')
      : '_None this month._');
  out.push(themes('Feature requests by theme', f.requestThemes));
  out.push(themes('Cancellation reasons', f.cancellationThemes));
  return out.join('\n\n');
}

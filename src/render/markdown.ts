import { monthsEndingAt } from '../domain/month.js';
import type { DeepDive, Metric, PreviousReview, Review } from '../domain/review.js';
import { num, sparkline, text } from './charts.js';
import { escapeMarkdown as md, idSlug } from './escape.js';
import { changeBetween, formatChange, formatDataValue, formatValue, NONE } from './format.js';
import { launchesMarkdown } from './launches.js';
import { GROUPS, diveLayout, factText, evidenceOf, signalsText, type DataTable } from './layout.js';

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
  if (t.rows.length === 0) return `_${md(t.title)}: not enough data._`;
  const lines = table(
    t.columns.map((c) => md(c.label)),
    t.columns.map((c) => (c.text ? 'l' : 'r')),
    t.rows.map((r) =>
      t.columns.map((c) => {
        if (c.key === 'signals') return md(signalsText(r.signals).join('; ') || NONE);
        return md(formatDataValue(c.key, r[c.key], currency));
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

  out.push(`# Growth review: ${md(r.product)} — ${md(r.month)}`);
  out.push(`Reporting currency ${md(cur)} · generated ${md(r.generatedAt)} · schema v${md(r.schemaVersion)}`);
  // A month the data does not fully cover says so before anything else.
  const statement = r.dataCoverage?.statement;
  if (statement)
    out.push(
      `> **${r.dataCoverage.status === 'outside' ? 'Outside the data' : 'Incomplete month'}.** ${md(statement)}`,
    );
  out.push(coverage(r));

  out.push('## Highlights');
  out.push(
    r.highlights.length
      ? r.highlights
          .map((h, i) => `${i + 1}. **${md(h.title)}** (${md(h.source)}): ${md(h.detail)}`)
          .join('\n')
      : '_Nothing stood out this month._',
  );

  out.push('## Metrics');
  const months = monthsEndingAt(r.month, 13);
  const known = new Set<string>(GROUPS.map((g) => g.id));
  const groups = [...GROUPS, { id: 'other', label: 'Other' }];
  for (const g of groups) {
    const ms = r.metrics.filter((m) => (known.has(m.group) ? m.group === g.id : g.id === 'other'));
    if (ms.length === 0) continue;
    out.push(`### ${g.label}`);
    out.push(
      table(
        ['Metric', 'Trend', ...months, 'MoM'],
        ['l', 'l', ...months.map(() => 'r' as const), 'r'],
        ms.map((m) => metricCells(m, months, r, image)),
      ),
    );
  }
  out.push(
    `▲/▼ marks an anomaly (unusually high / low against the trailing months), explained below. Values in ${md(cur)}; ` +
      'rates as percentages; MoM is the month-on-month change (relative, or in points for rates and NPS); n/a means it cannot be computed (no data for that month, or nothing to divide by).',
  );
  const byId = new Map(r.metrics.map((m) => [m.id, m]));
  if (r.anomalies.length) {
    out.push('### Anomalies');
    out.push(
      r.anomalies
        .map((a) => {
          const m = byId.get(a.metricId);
          const f = (v: number) => (m ? formatValue(v, m.unit, cur) : String(v));
          return `- **${md(m?.label ?? a.metricId)}**, ${md(a.month)} ${a.direction === 'up' ? '▲' : '▼'}: ${md(a.explanation)} (expected ${md(f(a.expected))}, actual ${md(f(a.actual))}, score ${md(a.score.toFixed(1))})`;
        })
        .join('\n'),
    );
  } else out.push('_No anomalies this month._');

  out.push(launchesMarkdown(r));

  out.push('## Deep dives');
  for (const d of r.deepDives) out.push(deepDive(d, cur, image));
  if (r.deepDives.length === 0) out.push('_No deep dives._');

  out.push(previous(r.previous, r));

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
    first || last ? ` (${text(first).slice(0, 10) || '?'} … ${text(last).slice(0, 10) || '?'})` : '';
  const period = c?.period;
  return [
    ...(c?.first || c?.last
      ? [
          `- Data: ${md(text(c.first) || '?')} … ${md(text(c.last) || '?')}; ${md(r.month)}: ${
            period ? `${period.coveredDays} of ${period.days} days covered` : 'coverage unknown'
          } (${md(c.status ?? 'complete')})`,
        ]
      : []),
    `- Events: ${n(c?.events?.count)}${md(span(c?.events?.first, c?.events?.last))}; ${n(c?.persons)} persons, ${n(c?.organizations)} organizations; months with events: ${c?.monthsWithEvents?.length ?? 0} of 13`,
    `- Billing: ${n(c?.billing?.customers)} customers, ${n(c?.billing?.invoiceLines)} invoice lines, ${n(c?.billing?.subscriptionRows)} subscription rows${md(span(c?.billing?.first, c?.billing?.last))}; months with billing: ${c?.monthsWithBilling?.length ?? 0} of 13`,
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
    md(m.label),
    image(`spark-${idSlug(m.id)}`, `${m.label} trend`, sparkline(m, r.anomalies)),
    ...cells,
    md(formatChange(m.change, m.changeKind, m.unit)),
  ];
}

function deepDive(
  d: DeepDive,
  currency: string,
  image: (name: string, alt: string, svg: string) => string,
): string {
  const parts: string[] = [
    `### ${md(d.question)}`,
    md(d.summary, { lineStart: true }),
    `_Method:_ ${md(d.method)}`,
  ];
  const l = diveLayout(d);
  const facts = (items: [string, string, unknown][]) =>
    items.map(([label, key, v]) => `${md(label)}: ${md(factText(key, v, currency))}`).join(' · ');
  if (l.findings.length) {
    parts.push(
      l.findings
        .map((f) => {
          const ev = evidenceOf(f);
          return `- **${md(f.title)}**: ${md(f.detail)}${ev.length ? `\n  - ${facts(ev)}` : ''}`;
        })
        .join('\n'),
    );
  }
  if (l.facts.length) parts.push(facts(l.facts));
  for (const c of l.charts) parts.push(image(c.name, c.title, c.svg));
  for (const t of l.tables) parts.push(dataTable(t, currency));
  if (l.empty) parts.push('_Not enough data._');
  return parts.join('\n\n');
}

function previous(p: PreviousReview | null, r: Review): string {
  if (!p) return '## Last review\n\n_No previous review recorded._';
  const parts: string[] = [`## Last review (${md(p.month)})`];
  const d = p.decision;
  parts.push(
    d
      ? `**Decision:** ${md(d.outcome)}${d.note ? ` — ${md(d.note)}` : ''} (${md(text(d.decidedAt).slice(0, 10))})`
      : '_No decision was recorded._',
  );
  parts.push('### To-dos');
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
            md(t.metricIds.join(', ') || NONE),
          ]),
        )
      : '_No to-dos were recorded._',
  );
  parts.push('### How the named metrics moved since');
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
              md(m?.label ?? s.metricId),
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

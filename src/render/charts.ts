import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';
import type { Anomaly, DeepDive, Metric } from '../domain/review.js';
import { asText, idSlug, slug } from './escape.js';
import { formatPValue, formatPercent } from './format.js';

/**
 * Charts as SVG strings, rendered on the server by Apache ECharts' SSR SVG renderer. Deterministic:
 * no animation, fixed sizes, and the renderer's per-instance ids (`zr0-`, `zr1-`…, a global
 * counter) are replaced by the chart's own name, so two renders give the same bytes and two charts
 * on one page never share a clip-path or CSS class. ECharts escapes the text it writes (labels,
 * axis names) — src/render/charts.test.ts checks it — so labels are passed unescaped.
 *
 * A chart function returns null when its data is absent or empty; callers print "not enough data".
 */

export interface Chart {
  /** `[a-z0-9-]`, unique within a review: the SVG id prefix and the Markdown file name. */
  name: string;
  title: string;
  svg: string;
}

const COLORS = ['#3461c1', '#e0a030', '#2a9d6a', '#c4473a', '#7a5bc4', '#4aa3b5'];
const TEXT = '#333';
const FONT = { fontFamily: 'Helvetica, Arial, sans-serif', fontSize: 11, color: TEXT };
/** How many rows a bar chart shows; the tables beside it hold the rest. */
export const MAX_BARS = 15;

export function renderSvg(name: string, option: EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, textStyle: FONT, color: COLORS, ...option });
    const svg = chart.renderToSVGString();
    return renumberIds(svg, `c-${slug(name)}-`);
  } finally {
    chart.dispose();
  }
}

/**
 * The renderer numbers ids and classes with global counters (`zr3-c0`, `zr3-cls-41`); renumber
 * them from 0 under `prefix`, in order of appearance. Only ids in markup positions (id, url(#…),
 * class, a CSS selector at a line start) are touched, never text.
 */
function renumberIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  return svg.replace(/(id="|url\(#|class="|^\.)(zr\d+-[a-z]+-?\d+)/gm, (_m, before: string, id: string) => {
    let mapped = ids.get(id);
    if (mapped === undefined) {
      mapped = `${prefix}${ids.size}`;
      ids.set(id, mapped);
    }
    return before + mapped;
  });
}

// ---- reading a dive's data defensively: every field may be missing or of the wrong type ----

export type Row = Record<string, unknown>;

export function rowsOf(data: unknown, key: string): Row[] {
  const v = data !== null && typeof data === 'object' ? (data as Row)[key] : undefined;
  return Array.isArray(v)
    ? v.filter((x): x is Row => x !== null && typeof x === 'object' && !Array.isArray(x))
    : [];
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Data as text (strings as they are, anything else as JSON). */
export const text = asText;

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ---- the charts ----

/** A 13-month sparkline; anomalous months are red dots. */
export function sparkline(metric: Metric, anomalies: Anomaly[] = []): string {
  const months = metric.series.map((p) => p.month);
  const values = metric.series.map((p) => num(p.value));
  const flagged = new Set(anomalies.filter((a) => a.metricId === metric.id).map((a) => a.month));
  const dots = metric.series.map((p) => (flagged.has(p.month) ? num(p.value) : null));
  return renderSvg(
    `spark-${idSlug(metric.id)}`,
    {
      grid: { left: 3, right: 3, top: 3, bottom: 3 },
      xAxis: { type: 'category', show: false, data: months, boundaryGap: false },
      yAxis: { type: 'value', show: false, scale: true },
      series: [
        {
          type: 'line',
          data: values,
          silent: true,
          symbol: 'circle',
          symbolSize: 2,
          lineStyle: { width: 1.5, color: COLORS[0] },
          itemStyle: { color: COLORS[0] },
        },
        { type: 'scatter', data: dots, silent: true, symbolSize: 5, itemStyle: { color: '#d22' } },
      ],
    },
    120,
    28,
  );
}

function barHeight(n: number): number {
  return 50 + 26 * n;
}

/** Horizontal bars, one per category, top to bottom in the given order. */
function hbars(
  name: string,
  categories: string[],
  series: { name: string; values: (number | null)[]; labels: string[] }[],
  axis: { formatter?: (v: number) => string } = {},
): string {
  const n = categories.length;
  const h = barHeight(n * Math.max(1, series.length * 0.7));
  return renderSvg(
    name,
    {
      legend: series.length > 1 ? { top: 0, textStyle: FONT, data: series.map((s) => s.name) } : undefined,
      grid: { left: 190, right: 90, top: series.length > 1 ? 28 : 10, bottom: 24 },
      xAxis: {
        type: 'value',
        axisLabel: { ...FONT, formatter: axis.formatter ?? ((v: number) => String(v)) },
        splitLine: { lineStyle: { color: '#eee' } },
      },
      yAxis: {
        type: 'category',
        inverse: true,
        data: categories.map((c) => truncate(c, 40)),
        axisLabel: { ...FONT, width: 180, overflow: 'truncate' },
      },
      series: series.map((s) => ({
        type: 'bar',
        name: s.name,
        silent: true,
        barMaxWidth: 18,
        data: s.values,
        label: {
          show: true,
          position: 'right',
          ...FONT,
          formatter: (p: { dataIndex: number }) => s.labels[p.dataIndex] ?? '',
        },
      })),
    },
    680,
    h,
  );
}

/** Onboarding funnel: people at each step, labelled with the conversion from the previous step. */
export function funnelBars(name: string, steps: Row[]): string | null {
  const rows = steps.filter((s) => num(s.count) !== null).slice(0, MAX_BARS);
  if (rows.length === 0) return null;
  return hbars(
    name,
    rows.map((s) => text(s.name)),
    [
      {
        name: 'people',
        values: rows.map((s) => num(s.count)),
        labels: rows.map((s, i) => {
          const c = num(s.conversionFromPrevious);
          return i === 0 || c === null ? String(num(s.count)) : `${num(s.count)} (${formatPercent(c)})`;
        }),
      },
    ],
  );
}

/** Leading indicators: the lift of each rule ("X ≥ k times in d days"), best first. */
export function liftBars(name: string, indicators: Row[]): string | null {
  const rows = indicators.filter((r) => num(r.lift) !== null).slice(0, MAX_BARS);
  if (rows.length === 0) return null;
  return hbars(
    name,
    rows.map((r) => `${text(r.event)} ≥ ${text(r.threshold)} in ${text(r.windowDays)}d`),
    [
      {
        name: 'lift',
        values: rows.map((r) => num(r.lift)),
        labels: rows.map((r) => `×${num(r.lift)?.toFixed(2)}`),
      },
    ],
    { formatter: (v) => `×${v}` },
  );
}

/** Churn drivers: lift of each segment's churn rate over the baseline, labelled with its p-value. */
export function churnDriverBars(name: string, drivers: Row[]): string | null {
  const rows = drivers.filter((r) => num(r.lift) !== null).slice(0, MAX_BARS);
  if (rows.length === 0) return null;
  return hbars(
    name,
    rows.map((r) => `${text(r.dimension)} = ${text(r.value)}`),
    [
      {
        name: 'lift',
        values: rows.map((r) => num(r.lift)),
        labels: rows.map((r) => {
          const p = num(r.pValue);
          return `×${num(r.lift)?.toFixed(2)}${p === null ? '' : `, p=${formatPValue(p)}`}`;
        }),
      },
    ],
    { formatter: (v) => `×${v}` },
  );
}

/** ICP comparison: the share of ICP and non-ICP organizations using each event. */
export function icpBars(name: string, features: Row[]): string | null {
  const rows = features
    .filter((r) => num(r.icpRate) !== null || num(r.nonIcpRate) !== null)
    .slice(0, MAX_BARS);
  if (rows.length === 0) return null;
  const rate = (v: unknown) => {
    const n = num(v);
    return n === null ? '' : formatPercent(n);
  };
  return hbars(
    name,
    rows.map((r) => text(r.event)),
    [
      { name: 'high ICP', values: rows.map((r) => num(r.icpRate)), labels: rows.map((r) => rate(r.icpRate)) },
      {
        name: 'non-ICP',
        values: rows.map((r) => num(r.nonIcpRate)),
        labels: rows.map((r) => rate(r.nonIcpRate)),
      },
    ],
    { formatter: (v) => formatPercent(v) },
  );
}

/**
 * Retention curves: the share of each cohort or group still active after 0, 1, 2… periods. Accepts
 * `[{ label|group|cohort|date, size?, values: number[] }]` or `{ cohorts: [...] }` (the retention
 * insight's shape); values are counts when a size is given (or the first value exceeds 1), else rates.
 */
export function retentionCurves(name: string, retention: unknown): string | null {
  const curves = (Array.isArray(retention) ? rowsOf({ r: retention }, 'r') : rowsOf(retention, 'cohorts'))
    .map((r) => {
      const values = Array.isArray(r.values) ? r.values.map(num) : [];
      const size =
        num(r.size) ?? (values[0] !== null && values[0] !== undefined && values[0] > 1 ? values[0] : null);
      const rates = values.map((v) => (v === null ? null : size ? v / size : v));
      return { label: text(r.label ?? r.group ?? r.cohort ?? r.date ?? r.name), rates };
    })
    .filter((c) => c.rates.some((v) => v !== null))
    .slice(0, 12);
  if (curves.length === 0) return null;
  const periods = Math.max(...curves.map((c) => c.rates.length));
  return renderSvg(
    name,
    {
      legend: { top: 0, textStyle: FONT, data: curves.map((c) => truncate(c.label, 30)) },
      grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: {
        type: 'category',
        data: Array.from({ length: periods }, (_, i) => String(i)),
        name: 'period',
        nameLocation: 'middle',
        nameGap: 20,
        axisLabel: FONT,
      },
      yAxis: {
        type: 'value',
        min: 0,
        max: 1,
        axisLabel: { ...FONT, formatter: (v: number) => formatPercent(v) },
      },
      series: curves.map((c) => ({
        type: 'line',
        name: truncate(c.label, 30),
        silent: true,
        data: c.rates,
        symbolSize: 4,
      })),
    },
    680,
    280,
  );
}

/**
 * The charts of one deep dive, by what its data holds (so a dive with extra data gets its charts
 * too). `retention` may sit in any dive's data.
 */
export function diveCharts(dive: DeepDive): Chart[] {
  const base = idSlug(dive.id);
  const data = dive.data;
  const out: Chart[] = [];
  const add = (suffix: string, title: string, svg: string | null) => {
    if (svg) out.push({ name: `${base}-${suffix}`, title, svg });
  };
  const d = data as Row | null | undefined;
  if (dive.id === 'onboarding-funnel' || rowsOf(d, 'steps').length) {
    add('funnel', 'Funnel: people reaching each step', funnelBars(`${base}-funnel`, rowsOf(d, 'steps')));
  }
  if (rowsOf(d, 'features').length) {
    add('icp', 'Share of organizations using each event', icpBars(`${base}-icp`, rowsOf(d, 'features')));
  }
  if (rowsOf(d, 'drivers').length) {
    add(
      'drivers',
      'Churn drivers: lift over the baseline churn rate',
      churnDriverBars(`${base}-drivers`, rowsOf(d, 'drivers')),
    );
  }
  if (rowsOf(d, 'indicators').length) {
    add('lift', 'Leading indicators: lift in retention', liftBars(`${base}-lift`, rowsOf(d, 'indicators')));
  }
  if (d && typeof d === 'object' && 'retention' in d) {
    add('retention', 'Retention curves', retentionCurves(`${base}-retention`, d.retention));
  }
  return out;
}

/** One step of the MRR movements waterfall, in major units (negative for contraction and churn). */
export interface WaterfallStep {
  label: string;
  value: number;
  /** A total (start or end MRR) stands on the axis; a movement floats from the running total. */
  total: boolean;
}

/**
 * The MRR bridge: last month's MRR, each movement as a floating bar (green up, red down), this
 * month's MRR. Bars are a transparent base stacked under the visible part, the usual ECharts way.
 */
export function waterfall(name: string, steps: WaterfallStep[], money: (v: number) => string): string | null {
  if (steps.length === 0) return null;
  const base: number[] = [];
  const visible: { value: number; itemStyle: { color: string } }[] = [];
  let running = 0;
  for (const s of steps) {
    if (s.total) {
      base.push(Math.min(0, s.value));
      visible.push({ value: Math.abs(s.value), itemStyle: { color: '#3461c1' } });
      running = s.value;
    } else {
      const from = running;
      const to = running + s.value;
      base.push(Math.min(from, to));
      visible.push({ value: Math.abs(s.value), itemStyle: { color: s.value >= 0 ? '#2a9d6a' : '#c4473a' } });
      running = to;
    }
  }
  return renderSvg(
    name,
    {
      grid: { left: 70, right: 20, top: 24, bottom: 40 },
      xAxis: {
        type: 'category',
        data: steps.map((s) => s.label),
        axisLabel: { ...FONT, interval: 0 },
      },
      yAxis: {
        type: 'value',
        axisLabel: { ...FONT, formatter: (v: number) => money(v) },
        splitLine: { lineStyle: { color: '#eee' } },
      },
      series: [
        { type: 'bar', stack: 'w', silent: true, data: base, itemStyle: { color: 'transparent' } },
        {
          type: 'bar',
          stack: 'w',
          silent: true,
          barMaxWidth: 46,
          data: visible,
          label: {
            show: true,
            position: 'top',
            ...FONT,
            formatter: (p: { dataIndex: number }) => {
              const s = steps[p.dataIndex];
              if (!s) return '';
              return s.total ? money(s.value) : `${s.value >= 0 ? '+' : ''}${money(s.value)}`;
            },
          },
        },
      ],
    },
    680,
    260,
  );
}

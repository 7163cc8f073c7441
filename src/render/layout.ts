import type { DeepDive, Finding, Metric, MetricGroup, Review } from '../domain/review.js';
import { diveCharts, num, rowsOf, text, type Chart, type Row, type WaterfallStep } from './charts.js';
import { formatDataValue, formatMetricChange, formatPValue, formatValue, keyWords } from './format.js';

/**
 * What the HTML and Markdown renderers show, decided once: metric groups in order, the table of
 * each deep dive's data (SPEC §5 columns first, then whatever extra fields the dive adds), and the
 * leftover data (extra arrays as tables, scalars as a line), so nothing a dive returns is hidden.
 */

export const GROUPS: { id: MetricGroup; label: string }[] = [
  { id: 'revenue', label: 'Revenue' },
  { id: 'usage', label: 'Usage' },
  { id: 'feedback', label: 'Feedback' },
];

/** Metrics where a rise is bad news (colours only; the numbers are the same), by their id's words. */
export function lowerIsBetter(metricId: string): boolean {
  return /churn|contraction|ticket|detractor|dormant/.test(metricId);
}

export interface DataColumn {
  key: string;
  label: string;
  /** Left-aligned: the column holds text. */
  text: boolean;
}

export interface DataTable {
  title: string;
  columns: DataColumn[];
  /** At most MAX_ROWS; `total` says how many there were. */
  rows: Row[];
  total: number;
}

export const MAX_ROWS = 25;
const MAX_COLUMNS = 10;

const LABELS: Record<string, string> = {
  mrr: 'MRR',
  name: 'customer',
  icpRate: 'high ICP',
  nonIcpRate: 'non-ICP',
  pValue: 'p-value',
  qValue: 'q-value',
  conversionFromPrevious: 'conversion',
  medianSecondsFromPrevious: 'median time',
  windowDays: 'window (days)',
  outcomeDays: 'outcome (days)',
  churnRate: 'churn rate',
  baselineRate: 'baseline',
  organization: 'organization',
  nonIcpOrganizations: 'non-ICP organizations',
  icpOrganizations: 'ICP organizations',
  interval95: '95% interval',
  n: 'n',
};

export function columnLabel(key: string): string {
  return LABELS[key] ?? keyWords(key).join(' ');
}

function isScalar(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

/** The SPEC columns, then extra fields the rows hold (in first-seen order), up to MAX_COLUMNS. */
export function tableOf(title: string, rows: Row[], spec: string[] = []): DataTable {
  // A known table shows its own columns only (extra fields — ids, per-row test internals — stay
  // in review.json). An unknown one shows plain-valued fields; nested ones stay in review.json.
  const keys = [...spec];
  const shown = spec.length ? [] : rows.slice(0, MAX_ROWS);
  for (const r of shown) {
    for (const k of Object.keys(r)) {
      if (keys.includes(k) || keys.length >= MAX_COLUMNS) continue;
      if (
        shown.every(
          (x) => isScalar(x[k]) || x[k] === undefined || (Array.isArray(x[k]) && x[k].every(isScalar)),
        )
      )
        keys.push(k);
    }
  }
  const columns = keys.map((key) => ({
    key,
    label: columnLabel(key),
    text:
      key === 'signals' ||
      rows.some((r) => typeof r[key] === 'string' || (r[key] !== null && typeof r[key] === 'object')),
  }));
  return { title, columns, rows: rows.slice(0, MAX_ROWS), total: rows.length };
}

interface TableSpec {
  /** The field of `data` the table shows. */
  key: string;
  table: (data: unknown) => DataTable;
}

function spec(key: string, title: string, columns: string[]): TableSpec {
  return { key, table: (data) => tableOf(title, rowsOf(data, key), columns) };
}

export const DIVE_TABLES: Record<string, TableSpec[]> = {
  'top-customers': [spec('customers', 'Top customers by MRR', ['name', 'mrr', 'health', 'signals'])],
  'icp-vs-non-icp': [
    spec('features', 'Share of organizations using each event', [
      'event',
      'icpRate',
      'nonIcpRate',
      'difference',
      'pValue',
    ]),
  ],
  'churn-reasons': [
    spec('churned', 'Churned customers', ['name', 'mrr']),
    spec('drivers', 'Churn drivers, strongest first', [
      'dimension',
      'value',
      'churnRate',
      'baselineRate',
      'lift',
      'pValue',
    ]),
  ],
  'leading-indicators': [
    spec('indicators', 'Leading indicators, best first', [
      'event',
      'threshold',
      'windowDays',
      'outcomeDays',
      'precision',
      'recall',
      'lift',
      'score',
    ]),
  ],
  'onboarding-funnel': [
    spec('steps', 'Onboarding funnel', [
      'name',
      'count',
      'conversionFromPrevious',
      'medianSecondsFromPrevious',
    ]),
  ],
};

/** Charted elsewhere, not tabulated: retention curves. */
const CHARTED = new Set(['retention']);

function entries(data: unknown): [string, unknown][] {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? Object.entries(data) : [];
}

/** Arrays of objects in `data` that no known table shows, as generic tables. */
export function extraTables(data: unknown, known: TableSpec[]): DataTable[] {
  const shown = new Set([...known.map((k) => k.key), ...CHARTED]);
  return entries(data)
    .filter(
      ([k, v]) => !shown.has(k) && Array.isArray(v) && v.some((x) => x !== null && typeof x === 'object'),
    )
    .map(([k]) => tableOf(columnLabel(k), rowsOf(data, k)));
}

/**
 * The facts of `data` that are not rows (e.g. `biggestDrop`, a test's statistics): scalars, arrays
 * of scalars, and nested objects flattened into "parent child" labels two levels deep. Arrays of
 * objects found inside nested objects become tables (`extraTables` takes the top-level ones).
 */
export function dataFacts(data: unknown): { facts: [string, string, unknown][]; tables: DataTable[] } {
  // Only the top level's plain values read as facts ("new users: 187"); nested structures
  // (windows, per-cohort breakdowns, test internals) stay in review.json: flattened into labels
  // they read as "windows last3 from", which is no sentence.
  const facts: [string, string, unknown][] = [];
  for (const [k, v] of entries(data)) {
    if (CHARTED.has(k) || HIDDEN_FACTS.has(k)) continue;
    if (v === null || v === undefined || typeof v === 'boolean') continue;
    if (isScalar(v)) facts.push([columnLabel(k), k, v]);
    else if (
      k.toLowerCase().includes('interval') &&
      Array.isArray(v) &&
      v.length === 2 &&
      v.every((x) => typeof x === 'number')
    )
      facts.push([columnLabel(k), k, v]);
  }
  return { facts, tables: [] };
}

/** Fields of a dive's data that are bookkeeping, not facts for a reader. */
const HIDDEN_FACTS = new Set([
  'month',
  'stepsSource',
  'inferredBy',
  'minChurnedForDrivers',
  'driversNotEnoughData',
  'high',
]);

const VERDICT_MARK: Record<string, string> = { good: '✓ ', bad: '✗ ', neutral: '· ' };

/**
 * A customer's health signals as lines, whatever their shape: strings; objects with a `detail`
 * (and a `verdict`: good / bad / neutral, shown as ✓ ✗ ·); other objects as "key: value" pairs;
 * or one object of named signals.
 */
export function signalsText(v: unknown): string[] {
  const pairs = (x: object) =>
    Object.entries(x)
      .filter(([, y]) => isScalar(y) && y !== null)
      .map(([k, y]) => `${columnLabel(k)}: ${formatDataValue(k, y, '')}`)
      .join(', ');
  const one = (x: unknown): string => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return text(x);
    const o = x as Row;
    const detail = o.detail ?? o.text ?? o.description;
    if (typeof detail !== 'string') return pairs(o);
    const verdict = typeof o.verdict === 'string' ? o.verdict : typeof o.status === 'string' ? o.status : '';
    return (VERDICT_MARK[verdict] ?? '') + detail;
  };
  if (Array.isArray(v)) return v.map(one).filter(Boolean);
  if (v !== null && typeof v === 'object')
    return Object.entries(v)
      .filter(([, y]) => isScalar(y) && y !== null)
      .map(([k, y]) => `${columnLabel(k)}: ${formatDataValue(k, y, '')}`);
  const s = text(v);
  return s ? [s] : [];
}

/** Everything a deep dive shows, in order: findings, facts, charts, tables. */
export interface DiveLayout {
  findings: Finding[];
  /** [label, key (for the unit), value] */
  facts: [string, string, unknown][];
  charts: Chart[];
  tables: DataTable[];
  /** Nothing to show but the summary: the renderers say "not enough data". */
  empty: boolean;
}

export function diveLayout(d: DeepDive): DiveLayout {
  const findings = Array.isArray(d.findings)
    ? d.findings.filter((f) => f !== null && typeof f === 'object')
    : [];
  const charts = diveCharts(d);
  const known = DIVE_TABLES[d.id] ?? [];
  const { facts, tables: nested } = dataFacts(d.data);
  const tables = [...known.map((t) => t.table(d.data)), ...extraTables(d.data, known), ...nested].filter(
    (t) => t.columns.length > 0,
  );
  const empty = charts.length === 0 && tables.every((t) => t.rows.length === 0) && findings.length === 0;
  return { findings, facts, charts, tables, empty };
}

/** A finding's evidence as [label, key, value]. */
export function evidenceOf(f: Finding): [string, string, unknown][] {
  const ev = f.evidence !== null && typeof f.evidence === 'object' ? Object.entries(f.evidence) : [];
  return ev.map(([k, v]) => [columnLabel(k), k, v]);
}

/** One fact or evidence value as text: signals as their lines, everything else by its key's unit. */
export function factText(key: string, value: unknown, currency: string): string {
  if (key === 'signals') return signalsText(value).join('; ');
  return formatDataValue(key, value, currency);
}

/** Evidence keys worth a reader's eye, in this order, with their words. The rest stays in review.json. */
const EVIDENCE_KEYS: [string, string][] = [
  ['test', 'test'],
  ['n', 'n'],
  ['cohort', 'cohort'],
  ['support', 'support'],
  ['responses', 'answers'],
  ['entered', 'entered'],
  ['atPrevious', 'at the step before'],
  ['lift', 'lift'],
  ['phi', 'phi'],
  ['probabilityOfSuperiority', 'probability of superiority'],
  ['interval95', '95% interval'],
  ['interval', '95% interval'],
  ['pValue', 'p'],
  ['qValue', 'q (Benjamini–Hochberg)'],
  ['mrrAtStake', 'MRR at stake'],
];

/** A finding's evidence as [words, value] pairs a person can read: tests, samples, p and q, intervals. */
export function evidenceText(f: Finding, currency: string): [string, string][] {
  const ev = f.evidence !== null && typeof f.evidence === 'object' ? (f.evidence as Row) : {};
  const out: [string, string][] = [];
  for (const [key, words] of EVIDENCE_KEYS) {
    const v = ev[key];
    if (v === undefined || v === null) continue;
    if (key === 'test' && typeof v === 'string') out.push([words, v.replace(/-/g, ' ')]);
    else if (typeof v === 'number')
      out.push([
        words,
        key === 'pValue' || key === 'qValue' ? formatPValue(v) : formatDataValue(key, v, currency),
      ]);
    else if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'))
      out.push([
        words,
        `${formatDataValue('rate', v[0], currency)} to ${formatDataValue('rate', v[1], currency)}`,
      ]);
    else if (
      v !== null &&
      typeof v === 'object' &&
      num((v as Row).low) !== null &&
      num((v as Row).high) !== null
    )
      out.push([
        words,
        `${formatDataValue('rate', (v as Row).low, currency)} to ${formatDataValue('rate', (v as Row).high, currency)}`,
      ]);
  }
  return out;
}

// ---- the first screen, MRR movements, feedback -------------------------------------------------

/** Outcomes (what the business gets) and inputs (what the team moves), as KPI cards. */
const OUTPUT_IDS = ['mrr', 'net_new_mrr', 'net_revenue_retention', 'customer_churn_rate', 'paying_customers'];
const INPUT_IDS = ['active_users', 'active_organizations', 'activation_rate', 'user_retention_rate', 'nps'];

export function kpiMetrics(metrics: readonly Metric[]): { outputs: Metric[]; inputs: Metric[] } {
  const byId = new Map(metrics.map((m) => [m.id, m]));
  const pick = (ids: string[]) => ids.map((id) => byId.get(id)).filter((m): m is Metric => m !== undefined);
  return { outputs: pick(OUTPUT_IDS), inputs: pick(INPUT_IDS) };
}

export interface MrrMovements {
  start: number;
  end: number;
  /** start, each movement, (other), end. */
  steps: WaterfallStep[];
  /** What the movements do not explain (FX, rounding): end − start − Σ movements. */
  other: number;
}

const MOVEMENTS: [string, string, 1 | -1][] = [
  ['new_mrr', 'New', 1],
  ['expansion_mrr', 'Expansion', 1],
  ['reactivation_mrr', 'Reactivation', 1],
  ['contraction_mrr', 'Contraction', -1],
  ['churned_mrr', 'Churn', -1],
];

/** The MRR bridge from last month to this one; null without MRR in both months. */
export function mrrMovements(r: Review): MrrMovements | null {
  const byId = new Map(r.metrics.map((m) => [m.id, m]));
  const mrr = byId.get('mrr');
  const start = mrr?.previous ?? null;
  const end = mrr?.current ?? null;
  if (start === null || end === null) return null;
  const steps: WaterfallStep[] = [{ label: 'Last month', value: start, total: true }];
  let sum = 0;
  for (const [id, label, sign] of MOVEMENTS) {
    const v = byId.get(id)?.current;
    if (v === null || v === undefined) continue;
    // Contraction and churn are stored as positive amounts lost.
    const value = sign * Math.abs(v);
    sum += value;
    steps.push({ label, value, total: false });
  }
  const other = Math.round((end - start - sum) * 100) / 100;
  if (other !== 0) steps.push({ label: 'Other', value: other, total: false });
  steps.push({ label: 'This month', value: end, total: true });
  return { start, end, steps, other };
}

export interface ThemeView {
  theme: string;
  count: number;
  quotes: string[];
}

export interface FeedbackView {
  nps: {
    value: number | null;
    low: number | null;
    high: number | null;
    responses: number | null;
    change: string | null;
  } | null;
  counts: { label: string; value: string; change: string }[];
  requestThemes: ThemeView[];
  cancellationThemes: ThemeView[];
}

/**
 * The feedback section from the review's own data: NPS with its interval (the metric's detail),
 * ticket and request counts, the feature-request themes (`feature_requests.detail[month].themes`)
 * and the cancellation reasons the churn dive grouped into themes, with up to two quotes each.
 */
export function feedbackView(r: Review): FeedbackView {
  const byId = new Map(r.metrics.map((m) => [m.id, m]));
  const detail = (id: string): Row => byId.get(id)?.detail?.[r.month] ?? {};
  const npsM = byId.get('nps');
  const nd = detail('nps');
  const interval = nd.interval as Row | undefined;
  const nps =
    npsM && npsM.current !== null
      ? {
          value: npsM.current,
          low: num(interval?.low),
          high: num(interval?.high),
          responses: num(nd.responses) ?? byId.get('nps_responses')?.current ?? null,
          change: npsM.change === null ? null : formatMetricChange(npsM, r.currency),
        }
      : null;
  const counts = ['tickets', 'tickets_open', 'feature_requests', 'interviews']
    .map((id) => byId.get(id))
    .filter((m): m is Metric => m !== undefined && m.current !== null)
    .map((m) => ({
      label: m.label,
      value: formatValue(m.current, m.unit, r.currency),
      change: `${formatMetricChange(m, r.currency)} vs last month`,
    }));
  const requestThemes = (
    Array.isArray(detail('feature_requests').themes) ? (detail('feature_requests').themes as Row[]) : []
  )
    .filter((t) => typeof t?.theme === 'string')
    .slice(0, 6)
    .map((t) => ({ theme: text(t.theme), count: num(t.requests) ?? num(t.count) ?? 0, quotes: quotesOf(t) }));
  const churn = r.deepDives.find((d) => d.id === 'churn-reasons');
  const cancellationThemes = rowsOf(churn?.data, 'reasons')
    .filter((t) => typeof t.theme === 'string')
    .slice(0, 5)
    .map((t) => ({ theme: text(t.theme), count: num(t.count) ?? 0, quotes: quotesOf(t) }));
  return { nps, counts, requestThemes, cancellationThemes };
}

/** Up to two distinct verbatim quotes of a theme (its `examples`, else its `example`). */
function quotesOf(t: Row): string[] {
  const all = Array.isArray(t.examples) ? t.examples : t.example !== undefined ? [t.example] : [];
  return [...new Set(all.filter((x): x is string => typeof x === 'string' && x.trim() !== ''))].slice(0, 2);
}

import type { DeepDive, Finding, MetricGroup } from '../domain/review.js';
import { diveCharts, rowsOf, text, type Chart, type Row } from './charts.js';
import { formatDataValue, keyWords } from './format.js';

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
};

export function columnLabel(key: string): string {
  return LABELS[key] ?? keyWords(key).join(' ');
}

function isScalar(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

/** The SPEC columns, then extra fields the rows hold (in first-seen order), up to MAX_COLUMNS. */
export function tableOf(title: string, rows: Row[], spec: string[] = []): DataTable {
  // Extra fields join as columns when they hold plain values; nested ones stay in review.json
  // (a customer's signals already summarise its nested usage, NPS and tickets).
  const keys = [...spec];
  const shown = rows.slice(0, MAX_ROWS);
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
  'top-customers': [
    spec('customers', 'Top customers by MRR', ['organization', 'name', 'mrr', 'health', 'signals']),
  ],
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
    spec('churned', 'Churned customers', ['organization', 'mrr']),
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
  const facts: [string, string, unknown][] = [];
  const tables: DataTable[] = [];
  const walk = (label: string, key: string, v: unknown, depth: number) => {
    if (isScalar(v) || (Array.isArray(v) && v.every(isScalar))) facts.push([label, key, v]);
    else if (Array.isArray(v)) {
      if (depth > 0)
        tables.push(
          tableOf(
            label,
            v.filter((x): x is Row => x !== null && typeof x === 'object'),
          ),
        );
    } else if (v !== null && typeof v === 'object') {
      if (depth >= 2) facts.push([label, key, v]);
      else for (const [k2, v2] of Object.entries(v)) walk(`${label} ${columnLabel(k2)}`, k2, v2, depth + 1);
    }
  };
  for (const [k, v] of entries(data)) if (!CHARTED.has(k)) walk(columnLabel(k), k, v, 0);
  return { facts, tables };
}

const VERDICT_MARK: Record<string, string> = { good: '✓ ', bad: '✗ ', neutral: '· ' };

/**
 * A customer's health signals as lines, whatever their shape: strings; objects with a `detail`
 * (and a `verdict`: good / bad / neutral, shown as ✓ ✗ ·); other objects as "key: value" pairs;
 * or one object of named signals.
 */
export function signalsText(v: unknown): string[] {
  const pairs = (x: object) =>
    Object.entries(x)
      .map(([k, y]) => `${columnLabel(k)}: ${text(y)}`)
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
    return Object.entries(v).map(([k, y]) => `${columnLabel(k)}: ${text(y)}`);
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
  const tables = [...known.map((t) => t.table(d.data)), ...extraTables(d.data, known), ...nested];
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

import { formatMoney } from '../domain/money-format.js';
import type { Metric, MetricUnit } from '../domain/review.js';

export { formatMoney };

/**
 * Number formatting by unit, shared by the HTML and Markdown renderers and the sentences the
 * review writes. A fixed locale (en-US) keeps the output identical on every machine. A number that
 * cannot be computed (`null`) is "n/a", never 0; an empty text field (no owner) is "—".
 *
 * Money has ONE format everywhere a person reads it (`formatMoney`): the currency's symbol from
 * the data's reporting currency, en-US grouping, the currency's minor digits ("$7,253.28",
 * "−€12.50"), or its compact form for big amounts in narrow places ("$7.3K").
 */

export const NONE = '—';
/** A number that cannot be computed. */
export const NOT_AVAILABLE = 'n/a';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** `−` (minus sign) rather than `-` reads better in tables. */
function sign(v: number, s: string): string {
  const body = s.replace('-', '');
  // A value that rounds to zero shows no sign ("0.0", not "−0.0").
  return v < 0 && /[1-9]/.test(body) ? `−${body}` : body;
}

export function formatSeconds(v: number): string {
  const a = Math.abs(v);
  if (a < 60) return sign(v, `${integer.format(v)} s`);
  if (a < 3600) return sign(v, `${oneDecimal.format(v / 60)} min`);
  if (a < 86400) return sign(v, `${oneDecimal.format(v / 3600)} h`);
  return sign(v, `${oneDecimal.format(v / 86400)} d`);
}

export function formatPercent(v: number): string {
  return sign(v, `${oneDecimal.format(v * 100)}%`);
}

/**
 * A metric value in its unit. `compact` shortens big currency amounts and counts for the 13-month
 * columns ("53.1K"); the full value goes in a title attribute or the "current" column.
 */
export function formatValue(
  value: number | null | undefined,
  unit: MetricUnit,
  currency: string,
  opts: { compact?: boolean } = {},
): string {
  if (!isNum(value)) return NOT_AVAILABLE;
  switch (unit) {
    case 'currency':
      return formatMoney(value, currency, opts);
    case 'ratio':
      return formatPercent(value);
    case 'count':
      return sign(
        value,
        opts.compact && Math.abs(value) >= 10000 ? compactFmt.format(value) : integer.format(value),
      );
    case 'nps':
      return sign(value, oneDecimal.format(value));
    case 'seconds':
      return formatSeconds(value);
  }
}

/**
 * Month-on-month change: relative changes as a signed percent, absolute changes of ratios in
 * percentage points and of NPS in points.
 */
export function formatChange(
  change: number | null | undefined,
  kind: Metric['changeKind'],
  unit: MetricUnit,
): string {
  if (!isNum(change)) return NOT_AVAILABLE;
  const body =
    kind === 'relative'
      ? formatPercent(change)
      : unit === 'ratio'
        ? sign(change, `${oneDecimal.format(change * 100)} pp`)
        : unit === 'seconds'
          ? formatSeconds(change)
          : unit === 'currency'
            ? sign(change, twoDecimals.format(change)) // an absolute money change: see formatMetricChange
            : sign(change, `${oneDecimal.format(change)} pts`);
  return change > 0 && /[1-9]/.test(body) ? `+${body}` : body;
}

/**
 * A value from a deep dive's data or a finding's evidence, whose unit is only known by its field
 * name: rates and shares as percents, p-values with 3 significant digits, other numbers plainly.
 */
export function formatDataValue(key: string, value: unknown, currency: string): string {
  if (value === null || value === undefined) return NOT_AVAILABLE;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 0) return 'none';
  if (Array.isArray(value) || typeof value === 'object') return formatNested(key, value, currency, 0);
  if (typeof value === 'bigint') return integer.format(value);
  if (!isNum(value)) return NOT_AVAILABLE;
  const words = keyWords(key);
  const has = (...ws: string[]) => ws.some((w) => words.includes(w));
  if (key === 'p' || key === 'q' || (has('p', 'q') && has('value')) || has('pvalue', 'qvalue'))
    return formatPValue(value);
  if (
    has('rate', 'rates', 'share', 'precision', 'recall', 'conversion', 'retention', 'ratio', 'pct', 'percent')
  ) {
    return formatPercent(value);
  }
  if (has('difference', 'change', 'growth', 'decline')) return formatPercent(value);
  if (has('mrr', 'arpa', 'revenue', 'amount', 'money')) return formatMoney(value, currency);
  if (has('seconds')) return formatSeconds(value);
  if (has('lift', 'odds', 'score')) return sign(value, value.toFixed(2));
  if (Number.isInteger(value)) return sign(value, integer.format(value));
  return sign(value, Math.abs(value) >= 100 ? oneDecimal.format(value) : value.toPrecision(3));
}

/**
 * Nested data in one line: `{ using: 30, of: 44, rate: 0.68 }` → "using 30, of 44, rate 68.0%";
 * arrays in brackets, each item formatted by the key that holds it. Deeper than 3 levels: JSON.
 */
function formatNested(key: string, value: unknown, currency: string, depth: number): string {
  // Deeper than that is no sentence: review.json holds it.
  if (depth > 3) return '…';
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v !== null && typeof v === 'object' ? formatNested(key, v, currency, depth + 1) : formatDataValue(key, v, currency))).join(', ')}]`;
  }
  if (value === null || typeof value !== 'object') return formatDataValue(key, value, currency);
  return Object.entries(value)
    .map(([k, v]) => {
      const inner =
        v !== null && typeof v === 'object'
          ? formatNested(k, v, currency, depth + 1)
          : formatDataValue(k, v, currency);
      return `${keyWords(k).join(' ')} ${inner}`;
    })
    .join(', ');
}

/** `medianSecondsFromPrevious` → median, seconds, from, previous; `p_value` → p, value. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export function formatPValue(p: number): string {
  if (p < 0.001) return '<0.001';
  return String(Number(p.toPrecision(2)));
}

/**
 * The change from `then` to `now` the way the metric's own month-on-month change is stated:
 * relative (÷ |then|) for currency and counts, absolute for rates and NPS. null when either side is
 * null or the relative base is 0. Used for `previous.metricsSince`, whose `change` field is a
 * plain difference.
 */
export function changeBetween(
  then: number | null,
  now: number | null,
  kind: Metric['changeKind'],
): number | null {
  if (!isNum(then) || !isNum(now)) return null;
  if (kind === 'absolute') return now - then;
  return then === 0 ? null : (now - then) / Math.abs(then);
}

/**
 * A metric's month-on-month change as a person reads it. A relative change of money is only
 * meaningful when both months are positive ("Net new MRR −$902 from $663": −236% says nothing), so
 * then the change is the difference in money, signed ("+$1,565.00"); otherwise `formatChange`.
 */
export function formatMetricChange(
  m: Pick<Metric, 'change' | 'changeKind' | 'unit' | 'current' | 'previous'>,
  currency: string,
): string {
  if (
    m.unit === 'currency' &&
    isNum(m.current) &&
    isNum(m.previous) &&
    (m.changeKind === 'absolute' || m.previous <= 0 || m.current < 0)
  ) {
    const d = m.current - m.previous;
    const s = formatMoney(d, currency);
    return d > 0 && /[1-9]/.test(s) ? `+${s}` : s;
  }
  return formatChange(m.change, m.changeKind, m.unit);
}

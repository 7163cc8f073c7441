/**
 * What every insight kind shares: the date range (SPEC §6), intervals and their buckets, event
 * matchers with property filters, and turning a zod failure into one `InputError` naming the field.
 * Semantics and their PostHog sources are written down in docs/insights.md.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { Dialect } from '../store/dialect.js';
import { join, raw, sql, type Sql } from '../store/sql.js';

export type Interval = 'day' | 'week' | 'month';
export type WeekStartDay = 'sunday' | 'monday';

// ---- dates ---------------------------------------------------------------------------------

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?$/;

/** A `YYYY-MM-DD` date or an ISO timestamp (`T` or a space), UTC unless it names a zone. */
export const dateInput = z.string().refine((s) => parseDateInput(s) !== undefined, {
  message: 'want YYYY-MM-DD or an ISO timestamp (YYYY-MM-DDTHH:MM[:SS][Z])',
});

function parseDateInput(s: string): { at: Date; isDate: boolean } | undefined {
  if (DATE_RE.test(s)) {
    const at = new Date(s + 'T00:00:00Z');
    return Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== s
      ? undefined
      : { at, isDate: true };
  }
  const m = TIMESTAMP_RE.exec(s);
  if (!m) return undefined;
  const at = new Date(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`);
  return Number.isNaN(at.getTime()) ? undefined : { at, isDate: false };
}

export const intervalSchema = z.enum(['day', 'week', 'month']);
export const weekStartDaySchema = z.enum(['sunday', 'monday']).default('sunday');

/** The spec fields of every insight read over a date range in intervals (lifecycle, stickiness, trends). */
export const intervalRangeFields = {
  dateFrom: dateInput,
  dateTo: dateInput,
  interval: intervalSchema.default('day'),
  weekStartDay: weekStartDaySchema,
};

/**
 * The half-open range [from, to) of event timestamps an insight reads. `dateTo` given as a bare
 * date includes that whole day (to = the next midnight); as a timestamp it is inclusive, which
 * `to` reproduces by adding one millisecond (our timestamps carry at most microseconds, so
 * nothing falls between).
 */
export interface DateRange {
  from: Date;
  to: Date;
}

export function dateRange(dateFrom: string, dateTo: string): DateRange {
  const from = parseDateInput(dateFrom)!.at;
  const to = parseDateInput(dateTo)!;
  const end = new Date(to.at.getTime() + (to.isDate ? 86_400_000 : 1));
  if (end.getTime() <= from.getTime()) {
    throw new InputError('dateTo is before dateFrom', { field: 'dateTo' });
  }
  return { from, to: end };
}

/** The first instant of a validated `dateFrom`. */
export function dateStart(dateFrom: string): Date {
  return parseDateInput(dateFrom)!.at;
}

/** The exclusive end of a range given only its `dateTo`. */
export function dateToEnd(dateTo: string): Date {
  const to = parseDateInput(dateTo)!;
  return new Date(to.at.getTime() + (to.isDate ? 86_400_000 : 1));
}

/** `timestamp` within the range, as SQL with the bounds as parameters. */
export function sqlInRange(ts: Sql, range: DateRange): Sql {
  return sql`${ts} >= ${range.from} AND ${ts} < ${range.to}`;
}

// ---- interval buckets (pure; the SQL side is `sqlBucket`) -----------------------------------

/** The start of the interval holding `d` (UTC; weeks start on `weekStart`). */
export function truncate(d: Date, unit: Interval, weekStart: WeekStartDay = 'sunday'): Date {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (unit === 'month') return new Date(Date.UTC(y, m, 1));
  const day = new Date(Date.UTC(y, m, d.getUTCDate()));
  if (unit === 'day') return day;
  const offset = (day.getUTCDay() - (weekStart === 'sunday' ? 0 : 1) + 7) % 7;
  return new Date(day.getTime() - offset * 86_400_000);
}

export function addIntervals(d: Date, unit: Interval, n: number): Date {
  if (unit === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, d.getUTCDate()));
  return new Date(d.getTime() + n * (unit === 'week' ? 7 : 1) * 86_400_000);
}

/** Every interval start from the one holding `from` to the one holding the last instant before `to`. */
export function buckets(range: DateRange, unit: Interval, weekStart: WeekStartDay = 'sunday'): Date[] {
  const last = truncate(new Date(range.to.getTime() - 1), unit, weekStart);
  const out: Date[] = [];
  for (
    let b = truncate(range.from, unit, weekStart);
    b.getTime() <= last.getTime();
    b = addIntervals(b, unit, 1)
  ) {
    out.push(b);
  }
  return out;
}

export function dayKey(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * The number of the interval holding `d`, counted from 1970 (see `Dialect.sqlIntervalNumber`,
 * which computes the same in SQL): SQL groups by these integers, JS turns them back into dates.
 */
export function intervalNumber(d: Date, unit: Interval, weekStart: WeekStartDay = 'sunday'): number {
  if (unit === 'month') return (d.getUTCFullYear() - 1970) * 12 + d.getUTCMonth();
  const days = Math.floor(d.getTime() / 86_400_000);
  return unit === 'day' ? days : Math.floor((days + (weekStart === 'sunday' ? 4 : 3)) / 7);
}

/** The first instant of interval number `n`. */
export function intervalStart(n: number, unit: Interval, weekStart: WeekStartDay = 'sunday'): Date {
  if (unit === 'month') return new Date(Date.UTC(1970 + Math.floor(n / 12), ((n % 12) + 12) % 12, 1));
  const days = unit === 'day' ? n : n * 7 - (weekStart === 'sunday' ? 4 : 3);
  return new Date(days * 86_400_000);
}

/** SQL: the number of the interval holding `ts` (an integer; see `intervalNumber`). */
export function sqlInterval(d: Dialect, ts: Sql, unit: Interval, weekStart: WeekStartDay = 'sunday'): Sql {
  return d.sqlIntervalNumber(unit, ts, weekStart);
}

// ---- event matchers and property filters ----------------------------------------------------

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A PostHog-style event property filter. */
export const propertyFilterSchema = z.strictObject({
  key: z.string().min(1),
  operator: z
    .enum(['exact', 'is_not', 'icontains', 'not_icontains', 'gt', 'gte', 'lt', 'lte', 'is_set', 'is_not_set'])
    .default('exact'),
  value: z.union([scalar, z.array(scalar).min(1)]).optional(),
  type: z.literal('event').default('event'),
});
export type PropertyFilter = z.infer<typeof propertyFilterSchema>;

const eventObject = z.strictObject({
  event: z.string().min(1),
  name: z.string().min(1).optional(),
  properties: z.array(propertyFilterSchema).default([]),
});

/** An event name, or `{ event, name?, properties? }`. */
export const eventMatcherSchema = z
  .union([z.string().min(1), eventObject])
  .transform((m) => (typeof m === 'string' ? { event: m, properties: [] } : m));
export type EventMatcher = z.output<typeof eventMatcherSchema>;

export function matcherName(m: EventMatcher): string {
  return m.name ?? m.event;
}

/** SQL condition: the row (`events` columns `event`, `properties`) matches `m`. */
export function sqlMatches(d: Dialect, m: EventMatcher, alias = ''): Sql {
  const col = (c: string) => raw(alias ? `${alias}.${c}` : c);
  const conds = [
    sql`${col('event')} = ${m.event}`,
    ...m.properties.map((f) => sqlProperty(d, col('properties'), f)),
  ];
  return sql`(${join(conds, ' AND ')})`;
}

function sqlProperty(d: Dialect, props: Sql, f: PropertyFilter): Sql {
  const text = d.sqlJsonString(props, [f.key]);
  const num = d.sqlJsonNumber(props, [f.key]);
  const values = f.value === undefined ? [] : Array.isArray(f.value) ? f.value : [f.value];
  const needValue = !['is_set', 'is_not_set'].includes(f.operator);
  if (needValue && values.length === 0) {
    throw new InputError(`operator '${f.operator}' needs a value`, { field: `properties.${f.key}.value` });
  }
  const asText = values.map((v) => String(v));
  const first = values[0];
  switch (f.operator) {
    case 'is_set':
      return sql`${text} IS NOT NULL`;
    case 'is_not_set':
      return sql`${text} IS NULL`;
    case 'exact':
      return sql`coalesce(${text} IN (${join(asText.map((v) => sql`${v}`))}), false)`;
    case 'is_not':
      return sql`coalesce(${text} NOT IN (${join(asText.map((v) => sql`${v}`))}), true)`;
    case 'icontains':
      return sql`coalesce(position(lower(${String(first)}) IN lower(${text})) > 0, false)`;
    case 'not_icontains':
      return sql`coalesce(position(lower(${String(first)}) IN lower(${text})) = 0, true)`;
    default: {
      if (typeof first !== 'number') {
        throw new InputError(`operator '${f.operator}' needs a number`, {
          field: `properties.${f.key}.value`,
        });
      }
      const op = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[f.operator];
      return sql`coalesce(${num} ${raw(op)} ${first}, false)`;
    }
  }
}

// ---- validation ----------------------------------------------------------------------------

/** Parses `value` with `schema`; the first problem becomes an `InputError` naming its field. */
export function parseSpec<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
  if (issue.code === 'unrecognized_keys') {
    const key = [...path, issue.keys[0] ?? ''].join('.');
    throw new InputError(`unknown key '${key}'`, { field: key });
  }
  const field = path.join('.') || '(spec)';
  throw new InputError(issue.message, { field });
}

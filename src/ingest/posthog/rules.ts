/**
 * The rules an event record must meet, in one place (docs/ingest.md, "Bad records"). The events
 * importer checks them set-based in SQL (store/duckdb/ingest-events.ts builds its checks from
 * `EVENT_RULES` and the bounds here: millions of records, no per-record JS); values checked in
 * JS (the capture payload's `sent_at` and `offset`, the importer's options) go through the zod
 * schemas below, on the validation layer the other importers use (ingest/validate.ts: its date
 * parser and its earliest date). A test keeps docs/ingest.md's table of reasons equal to
 * `EVENT_RULES`.
 */
import { z } from 'zod';
import { EARLIEST, parseDate } from '../validate.js';

/**
 * The earliest event time accepted (the validation layer's, ingest/validate.ts): nothing a
 * product analytics tool recorded is older.
 */
export const EARLIEST_EVENT_TIME = new Date(EARLIEST).toISOString();
const EARLIEST_EVENT_US = Date.parse(EARLIEST_EVENT_TIME) * 1000;
/** How far after the import (or the batch's send time) an event may be dated: clocks drift. */
export const DEFAULT_CLOCK_SKEW_MS = 60 * 60 * 1000;
/** The largest clock-skew allowance an import accepts. */
export const MAX_CLOCK_SKEW_MS = 7 * 24 * 60 * 60 * 1000;

/** One check: the field it names (none: the record as a whole) and the reason reported. */
export interface EventRule {
  field: string | null;
  /** The reason's text; `…` stands for the detail appended (a type name, the offending value). */
  reason: string;
}

/**
 * Every reason a record is rejected for, in the order checked (the first failing check names the
 * fault). The SQL classification refers to them by key, so a reason is worded once.
 */
export const EVENT_RULES = {
  notUtf8: { field: null, reason: 'not valid UTF-8' },
  invalidJson: { field: null, reason: 'invalid JSON (truncated or malformed)' },
  controlChar: { field: null, reason: 'invalid JSON (contains a raw control character)' },
  lineTooLong: { field: null, reason: 'line longer than 32 MB' },
  gzipCut: { field: null, reason: 'gzip data ends here: …' },
  notObject: { field: null, reason: 'not a JSON object' },
  eventMissing: { field: 'event', reason: 'missing' },
  eventType: { field: 'event', reason: 'must be a string, got …' },
  eventEmpty: { field: 'event', reason: 'is empty' },
  distinctIdMissing: { field: 'distinct_id', reason: 'missing' },
  distinctIdType: { field: 'distinct_id', reason: 'must be a string or number, got …' },
  distinctIdEmpty: { field: 'distinct_id', reason: 'is empty' },
  timestampMissing: { field: 'timestamp', reason: 'missing' },
  timestampType: { field: 'timestamp', reason: 'must be an ISO 8601 string, got …' },
  timestampNotDate: { field: 'timestamp', reason: 'not a calendar date: …' },
  timestampNotIso: { field: 'timestamp', reason: 'not an ISO 8601 timestamp: …' },
  timestampTooEarly: { field: 'timestamp', reason: `before ${EARLIEST_EVENT_TIME.slice(0, 10)}: …` },
  timestampFuture: {
    field: 'timestamp',
    reason: 'in the future (more than the clock-skew allowance after the import): …',
  },
  propertiesJson: { field: 'properties', reason: 'not valid JSON' },
  propertiesType: { field: 'properties', reason: 'must be an object, got …' },
  uuidType: { field: 'uuid', reason: 'must be a string, got …' },
} as const satisfies Record<string, EventRule>;

export type EventRuleKey = keyof typeof EVENT_RULES;

/** The reason of `key` with its `…` replaced by `detail` (or dropped when there is none). */
export function reasonText(key: EventRuleKey, detail?: string): string {
  const r = EVENT_RULES[key].reason;
  return r.includes('…') ? r.replace('…', detail ?? '').replace(/:\s*$/, '') : r;
}

/** The reason's fixed part (before `…`), which the SQL classification concatenates with a detail. */
export function reasonPrefix(key: EventRuleKey): string {
  const r = EVENT_RULES[key].reason;
  const i = r.indexOf('…');
  return i < 0 ? r : r.slice(0, i);
}

/** The latest event time an import at `now` accepts. */
export function latestEventTime(now: Date, clockSkewMs: number = DEFAULT_CLOCK_SKEW_MS): Date {
  return new Date(now.getTime() + clockSkewMs);
}

/** `--clock-skew`: a duration (`90s`, `15m`, `1h`, `2d`, or milliseconds), at most 7 days. */
export const clockSkewSchema = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(v));
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `not a duration (e.g. 30m, 1h, 2d): ${String(v)}` });
      return z.NEVER;
    }
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
    return Math.round(Number(m[1]) * unit);
  })
  .pipe(z.number().int().min(0).max(MAX_CLOCK_SKEW_MS, 'at most 7 days'));

/**
 * A capture batch's `sent_at` (the client's send time): an ISO 8601 timestamp with a real
 * calendar date, or milliseconds since the epoch; the events' `offset`s count back from it.
 */
export const sentAtSchema = z.unknown().transform((v, ctx): Date => {
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 8.64e15) return new Date(v);
  const d = typeof v === 'string' ? parseDate(v) : 'must be an ISO 8601 string or milliseconds';
  if (typeof d === 'string') {
    ctx.addIssue({ code: 'custom', message: d });
    return z.NEVER;
  }
  return d;
});

/**
 * An event's `offset` (PostHog SDKs: milliseconds before `sent_at`). Any finite number is read;
 * the time it gives must be a date JavaScript can represent (±8.64e15 ms): the importer then
 * checks the range, so an offset of 1e15 ms (year −29663) is rejected by name.
 */
export const offsetSchema = z.number().refine(Number.isFinite, 'must be a number of milliseconds');

/** `sentAt − offset` as an ISO string, or undefined when no date can represent it. */
export function timeBefore(sentAt: Date, offset: number): string | undefined {
  const t = sentAt.getTime() - offset;
  return Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : undefined;
}

/** A record's fault: the rule it breaks and the detail its reason carries (`…`). */
export interface EventFault {
  key: EventRuleKey;
  detail?: string;
}

/**
 * What the store makes of a timestamp's text (DuckDB's `try_cast(text AS TIMESTAMPTZ)`):
 * microseconds since 1970 (UTC), or `null` when it is no timestamp, with `notDate` when the text
 * starts like a date (`YYYY-MM-DD`) that is no calendar date.
 */
export type TimestampReading = { us: number } | { us: null; notDate: boolean };

/**
 * The common ISO 8601 shapes read in JS exactly as the store reads them (checked against DuckDB
 * by rules.test.ts): `YYYY-MM-DD`, then optionally `T` or a space, `hh:mm[:ss[.fraction]]`, then
 * optionally `Z` or `±hh[[:]mm]`. Digits past the microsecond are dropped, as DuckDB does. Any
 * other text — or a date or time out of range — is `undefined`: not known here, to be read by the
 * store's own parser (DuckDB accepts more: `2024/01/01`, `2024-1-1`, zone names…).
 */
const COMMON_ISO =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/;

/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of the `n` ASCII digits of `t` at `at`, or -1 when any is not a digit. */
function digitsAt(t: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = t.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * `YYYY-MM-DDThh:mm:ss.sssZ` (what `Date.toISOString` writes, so what the SDKs send), read by
 * character codes: the regular expression below cost about a microsecond per event on the capture
 * path. The same value as the general reading (rules.test.ts, check-event.test.ts), or undefined
 * for any other text (years before 100 included: `Date.UTC` reads those as 19YY).
 */
function isoMillisMicros(t: string): number | undefined {
  if (
    t.length !== 24 ||
    t.charCodeAt(4) !== 45 || // -
    t.charCodeAt(7) !== 45 ||
    t.charCodeAt(10) !== 84 || // T
    t.charCodeAt(13) !== 58 || // :
    t.charCodeAt(16) !== 58 ||
    t.charCodeAt(19) !== 46 || // .
    t.charCodeAt(23) !== 90 // Z
  ) {
    return undefined;
  }
  const Y = digitsAt(t, 0, 4);
  const M = digitsAt(t, 5, 2);
  const D = digitsAt(t, 8, 2);
  const H = digitsAt(t, 11, 2);
  const MI = digitsAt(t, 14, 2);
  const S = digitsAt(t, 17, 2);
  const MS = digitsAt(t, 20, 3);
  if (
    Y < 100 ||
    M < 1 ||
    M > 12 ||
    D < 1 ||
    H < 0 ||
    H > 23 ||
    MI < 0 ||
    MI > 59 ||
    S < 0 ||
    S > 59 ||
    MS < 0
  ) {
    return undefined;
  }
  const leap = Y % 4 === 0 && (Y % 100 !== 0 || Y % 400 === 0);
  if (D > (M === 2 && leap ? 29 : MONTH_DAYS[M - 1]!)) return undefined;
  return Date.UTC(Y, M - 1, D, H, MI, S, MS) * 1000;
}

export function commonTimestampMicros(text: string): number | undefined {
  const fast = isoMillisMicros(text);
  if (fast !== undefined) return fast;
  const m = COMMON_ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const [Y, M, D, H, MI, S] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (Y < 1 || H > 23 || MI > 59 || S > 59) return undefined;
  const c = new Date(0);
  c.setUTCFullYear(Y, M - 1, D);
  if (c.getUTCFullYear() !== Y || c.getUTCMonth() !== M - 1 || c.getUTCDate() !== D) return undefined;
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const [zh, zm] = [Number(z[2]), Number(z[3] ?? 0)];
    if (zh > 14 || zm > 59) return undefined;
    offsetMin = (z[1] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  c.setUTCHours(H, MI, S, 0);
  return (c.getTime() - offsetMin * 60_000) * 1000 + Number(frac.slice(0, 6).padEnd(6, '0'));
}

/** A fault's reason as the importer words it: the rule's reason, its `…` the detail. */
export function faultReason(f: EventFault): string {
  return f.detail === undefined ? reasonText(f.key) : reasonPrefix(f.key) + f.detail;
}

/** A JSON value's type as the reasons name it (`typeName` of the SQL classification). */
function jsonTypeName(v: unknown): string {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

const missing = (v: unknown): boolean => v === undefined || v === null;

/**
 * The checks of EVENT_RULES on one decoded event (a capture request's, decoded by the server), in
 * the order and with the reasons of the importer's set-based classification
 * (store/duckdb/ingest-events.ts `classify`), so that what the capture API accepts the importer
 * stores: rules.test.ts runs both on the same records. `readTimestamp` is how the store reads a
 * timestamp's text (see `TimestampReading`; `commonTimestampMicros` covers the usual ones).
 * `latestUs`: the latest time accepted (`latestEventTime`), in microseconds.
 */
export function checkEvent(
  e: { event?: unknown; distinct_id?: unknown; timestamp?: unknown; properties?: unknown; uuid?: unknown },
  latestUs: number,
  readTimestamp: (text: string) => TimestampReading,
): EventFault | undefined {
  if (missing(e.event)) return { key: 'eventMissing' };
  if (typeof e.event !== 'string') return { key: 'eventType', detail: jsonTypeName(e.event) };
  if (e.event === '') return { key: 'eventEmpty' };
  if (missing(e.distinct_id)) return { key: 'distinctIdMissing' };
  if (typeof e.distinct_id !== 'string' && typeof e.distinct_id !== 'number') {
    return { key: 'distinctIdType', detail: jsonTypeName(e.distinct_id) };
  }
  if (e.distinct_id === '') return { key: 'distinctIdEmpty' };
  if (missing(e.timestamp)) return { key: 'timestampMissing' };
  if (typeof e.timestamp !== 'string') return { key: 'timestampType', detail: jsonTypeName(e.timestamp) };
  const text = e.timestamp;
  // `left(text, 40)` of the SQL: characters, not UTF-16 units (made only for a fault).
  const shown = (): string => [...text.slice(0, 80)].slice(0, 40).join('');
  const t = readTimestamp(text);
  if (t.us === null) return { key: t.notDate ? 'timestampNotDate' : 'timestampNotIso', detail: shown() };
  if (t.us < EARLIEST_EVENT_US) return { key: 'timestampTooEarly', detail: shown() };
  if (t.us > latestUs) return { key: 'timestampFuture', detail: shown() };
  if (!missing(e.properties) && (typeof e.properties !== 'object' || Array.isArray(e.properties))) {
    return { key: 'propertiesType', detail: jsonTypeName(e.properties) };
  }
  if (!missing(e.uuid) && typeof e.uuid !== 'string')
    return { key: 'uuidType', detail: jsonTypeName(e.uuid) };
  return undefined;
}

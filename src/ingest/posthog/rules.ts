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

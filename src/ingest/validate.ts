/**
 * The validation layer of the billing and feedback importers (docs/ingest.md, "Validation"), on
 * zod: every value is checked here before a database sees it, so a bad value rejects its record
 * (file, line, field) instead of aborting the file with a cast error, and nothing is silently
 * rolled or replaced (`2025-02-30` is not 2 March; invalid UTF-8 is not U+FFFD).
 *
 * Bounds are of plausibility, well inside the store's types (BIGINT, TIMESTAMPTZ), so that sums
 * over millions of rows cannot overflow either:
 * - amounts in minor units: an integer of at most 10^12 in absolute value (ten billion in a
 *   two-decimal currency, per line or per interval);
 * - quantities and counts: integers 0 … 10^9 (interval counts 1 … 1,000);
 * - dates and times: real calendar dates from 1970-01-01 to 2099-12-31 (UTC);
 * - currencies: three ASCII letters (the shape of ISO 4217), upper-cased.
 */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { InputError } from '../errors.js';

/** A bad value: the field (column, JSON key or dotted path) and why. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'FieldError';
  }
}

export const MAX_AMOUNT = 1_000_000_000_000;
export const MAX_QUANTITY = 1_000_000_000;
export const MAX_INTERVAL_COUNT = 1_000;
/** 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z (exclusive), in milliseconds. */
export const EARLIEST = Date.UTC(1970, 0, 1);
export const LATEST = Date.UTC(2100, 0, 1);
/** How far in the future an event's `created` may be (clock skew between Stripe and us). */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Runs `schema` on `value`; on failure throws a FieldError naming `field` (and the issue's path). */
export function check<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw fieldErrorOf(r.error, field);
}

/** The first issue of a zod error, as a FieldError; `prefix` names the value checked. */
export function fieldErrorOf(error: z.ZodError, prefix?: string): FieldError {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((p) => p !== undefined && p !== '');
  return new FieldError(path.join('.'), issue?.message ?? 'invalid');
}

/** `'abc'`, `12.5`, `"x"`: a value as a message shows it (long ones cut). */
export function shown(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 37) + '…' : s;
}

const inRange = (n: number, lo: number, hi: number): boolean => n >= lo && n <= hi;

/** A JSON number that is an integer within [lo, hi]. */
export function integer(lo: number, hi: number, what: string): z.ZodType<number> {
  return z.unknown().transform((v, ctx) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${shown(v)}` });
      return z.NEVER;
    }
    if (!Number.isInteger(v)) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number (${what}), got ${v}` });
      return z.NEVER;
    }
    if (!inRange(v, lo, hi)) {
      ctx.addIssue({ code: 'custom', message: `out of range: ${v} (expected ${lo} to ${hi})` });
      return z.NEVER;
    }
    return v;
  });
}

/** Amounts in minor units (JSON numbers). */
export const minorUnits = integer(-MAX_AMOUNT, MAX_AMOUNT, 'an amount in minor units');
export const quantity = integer(0, MAX_QUANTITY, 'a quantity');
export const intervalCount = integer(1, MAX_INTERVAL_COUNT, 'an interval count');

/** A decimal integer in text (a CSV cell), then bounded as `integer`. */
export function integerText(lo: number, hi: number, what: string): z.ZodType<number> {
  return z.string().transform((raw, ctx) => {
    const s = raw.trim();
    if (!/^[-+]?\d+$/.test(s)) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} (an integer), got ${shown(raw)}` });
      return z.NEVER;
    }
    // Length first: Number() of 30 digits is a float that could pass a naive range test.
    const n = s.replace(/^[-+]?0*/, '').length > 16 ? Infinity : Number(s);
    if (!inRange(n, lo, hi)) {
      ctx.addIssue({ code: 'custom', message: `out of range: ${s} (expected ${lo} to ${hi})` });
      return z.NEVER;
    }
    return n;
  });
}

/** Unix seconds (Stripe's times) → Date, within the plausible range. */
export const unixSeconds: z.ZodType<Date> = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    ctx.addIssue({ code: 'custom', message: `expected Unix seconds (an integer), got ${shown(v)}` });
    return z.NEVER;
  }
  const ms = v * 1000;
  if (!inRange(ms, EARLIEST, LATEST - 1)) {
    ctx.addIssue({ code: 'custom', message: `out of range: ${v} is not a time from 1970 to 2099` });
    return z.NEVER;
  }
  return new Date(ms);
});

/** A three-letter currency code (ISO 4217's shape), upper-cased. */
export const currencyCode: z.ZodType<string> = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string' || !/^\s*[A-Za-z]{3}\s*$/.test(v)) {
    ctx.addIssue({ code: 'custom', message: `expected a three-letter currency code, got ${shown(v)}` });
    return z.NEVER;
  }
  return v.trim().toUpperCase();
});

// ---- dates in text -------------------------------------------------------------------------

/**
 * How dates in a CSV are written: `iso` (ISO 8601, the default), or a day/month/year pattern
 * named with `--date-format`: `DD/MM/YYYY`, `MM/DD/YYYY`, `YYYY/MM/DD` and the same with `-` or
 * `.` (day and month may have one digit when separated). A time may follow after a space or
 * `T` (`HH:MM[:SS[.fff]]`, then an optional `Z` or `±HH:MM`; none = UTC).
 */
export type DateFormat =
  { kind: 'iso' } | { kind: 'pattern'; order: readonly ('Y' | 'M' | 'D')[]; separator: string; name: string };

export const ISO_DATES: DateFormat = { kind: 'iso' };

/** `--date-format`'s value → a DateFormat; an InputError naming the option otherwise. */
export function parseDateFormat(spec: string | undefined): DateFormat {
  if (spec === undefined || /^iso(\s*8601)?$/i.test(spec.trim()) || spec.trim() === 'YYYY-MM-DD') {
    return ISO_DATES;
  }
  const m = /^(YYYY|MM|DD)([/.-])(YYYY|MM|DD)\2(YYYY|MM|DD)$/i.exec(spec.trim());
  const order = m ? [m[1], m[3], m[4]].map((t) => t!.toUpperCase()[0] as 'Y' | 'M' | 'D') : [];
  if (!m || new Set(order).size !== 3 || order[1] === 'Y') {
    throw new InputError(
      `unknown date format '${spec}': use ISO (the default), DD/MM/YYYY, MM/DD/YYYY or YYYY/MM/DD (separator /, - or .)`,
      { field: '--date-format' },
    );
  }
  return { kind: 'pattern', order, separator: m[2]!, name: spec.trim().toUpperCase() };
}

const TIME = String.raw`(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?`;
const ISO_RE = new RegExp(String.raw`^(\d{4})-(\d{2})-(\d{2})${TIME}$`);

/**
 * A date (or date and time) in `format` → Date (UTC), or a reason it is not one. Calendar dates
 * are checked (no 2025-02-30, no 24:00), and the instant must fall in 1970 … 2099.
 */
export function parseDate(text: string, format: DateFormat = ISO_DATES): Date | string {
  const s = text.trim();
  let y: string | undefined, mo: string | undefined, d: string | undefined, rest: RegExpExecArray | null;
  if (format.kind === 'iso') {
    rest = ISO_RE.exec(s);
    if (!rest) return `not an ISO 8601 date: ${shown(text)}`;
    [y, mo, d] = [rest[1], rest[2], rest[3]];
    rest = rest.slice(3) as unknown as RegExpExecArray;
  } else {
    const sep = '\\' + format.separator;
    const part = { Y: String.raw`(\d{4})`, M: String.raw`(\d{1,2})`, D: String.raw`(\d{1,2})` };
    const re = new RegExp(`^${format.order.map((t) => part[t]).join(sep)}${TIME}$`);
    const m = re.exec(s);
    if (!m) return `not a date in the format ${format.name}: ${shown(text)}`;
    const at = (t: 'Y' | 'M' | 'D'): string => m[format.order.indexOf(t) + 1]!;
    [y, mo, d] = [at('Y'), at('M'), at('D')];
    rest = m.slice(3) as unknown as RegExpExecArray;
  }
  const [, h = '0', mi = '0', sec = '0', frac = '', zone] = rest;
  const [Y, M, D] = [Number(y), Number(mo), Number(d)];
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return `not a time of day: ${shown(text)}`;
  // setUTCFullYear, not Date.UTC: the latter reads years 0–99 as 1900–1999.
  const c = new Date(0);
  c.setUTCFullYear(Y, M - 1, D);
  c.setUTCHours(Number(h), Number(mi), Number(sec), 0);
  const utc = c.getTime();
  if (c.getUTCFullYear() !== Y || c.getUTCMonth() !== M - 1 || c.getUTCDate() !== D) {
    return `not a calendar date: ${shown(text)}`;
  }
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 18 || om > 59) return `not a time zone offset: ${shown(zone)}`;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const ms = utc + (frac ? Math.floor(Number('0' + frac) * 1000) : 0) - offsetMinutes * 60_000;
  if (!inRange(ms, EARLIEST, LATEST - 1))
    return `out of range: ${shown(text)} is not a date from 1970 to 2099`;
  return new Date(ms);
}

/** A date cell in `format` → Date. */
export function dateText(format: DateFormat = ISO_DATES): z.ZodType<Date> {
  return z.string().transform((s, ctx) => {
    const d = parseDate(s, format);
    if (typeof d === 'string') {
      ctx.addIssue({ code: 'custom', message: d });
      return z.NEVER;
    }
    return d;
  });
}

// ---- bytes -----------------------------------------------------------------------------------

/**
 * The 1-based physical lines (split on `\n`) of `bytes` that are not valid UTF-8; empty for a
 * valid file (checked whole first, so a clean file costs one pass).
 */
export function invalidUtf8Lines(bytes: Uint8Array): Set<number> {
  const bad = new Set<number>();
  if (isUtf8(bytes)) return bad;
  let start = 0;
  let line = 1;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    if (!isUtf8(bytes.subarray(start, end))) bad.add(line);
    start = end + 1;
    line++;
  }
  return bad;
}

/** Byte offsets where each 1-based physical line starts (index 0 unused), for verbatim copies. */
export function lineStarts(bytes: Uint8Array): number[] {
  const starts = [0, 0];
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) starts.push(i + 1);
  return starts;
}

/** The bytes of physical lines `from` … `to` (1-based, inclusive), without the last newline. */
export function linesOf(bytes: Uint8Array, starts: readonly number[], from: number, to: number): Buffer {
  const a = starts[from] ?? bytes.length;
  let b = (starts[to + 1] ?? bytes.length + 1) - 1;
  if (b > bytes.length) b = bytes.length;
  // A view, not a copy: a file's records are read once and most are never written out.
  const out = Buffer.from(bytes.buffer, bytes.byteOffset + a, Math.max(0, b - a));
  return out.at(-1) === 0x0d ? out.subarray(0, -1) : out;
}

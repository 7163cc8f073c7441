/**
 * ClickHouse values ⇄ the plain JS values every engine returns (store/engine.ts), so a row read
 * from ClickHouse compares equal to the same row read from DuckDB:
 * - integers as numbers when they are safe (Int64/UInt64 arrive as strings in JSON), else strings;
 * - timestamps as UTC ISO strings at millisecond precision (`2024-02-01T04:30:00.000Z`, what
 *   DuckDB's driver gives for a TIMESTAMPTZ), dates as midnight UTC the same way;
 * - arrays, tuples and maps as arrays and objects, converted element by element.
 * Conversion is driven by the column types ClickHouse reports (`FORMAT JSON`'s `meta`), never by
 * guessing from the value.
 */
import type { SqlValue } from '../sql.js';

/** A parsed ClickHouse type: its name and its arguments (types for Array/Tuple/Map/Nullable…). */
interface ChType {
  name: string;
  args: ChType[];
  /** Tuple element names, when named. */
  names?: string[];
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'" && s[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out.filter((x) => x !== '');
}

const cache = new Map<string, ChType>();

export function parseType(type: string): ChType {
  const hit = cache.get(type);
  if (hit) return hit;
  const open = type.indexOf('(');
  let parsed: ChType;
  if (open < 0 || !type.endsWith(')')) parsed = { name: type.trim(), args: [] };
  else {
    const name = type.slice(0, open).trim();
    const inner = splitTopLevel(type.slice(open + 1, -1));
    if (name === 'Tuple') {
      // Named tuples spell `Tuple(a String, b UInt8)`.
      const named = inner.map((p) => /^([A-Za-z_][A-Za-z0-9_]*|`[^`]+`)\s+(.+)$/.exec(p));
      const allNamed = named.every((m) => m !== null && !/^[A-Z]/.test(m[1] as string));
      parsed = allNamed
        ? {
            name,
            args: named.map((m) => parseType((m as RegExpExecArray)[2] as string)),
            names: named.map((m) => ((m as RegExpExecArray)[1] as string).replaceAll('`', '')),
          }
        : { name, args: inner.map(parseType) };
    } else if (['Array', 'Nullable', 'LowCardinality', 'Map', 'SimpleAggregateFunction'].includes(name)) {
      parsed = {
        name,
        args: inner.filter((x) => name !== 'SimpleAggregateFunction' || x !== inner[0]).map(parseType),
      };
    } else parsed = { name, args: [] };
  }
  cache.set(type, parsed);
  return parsed;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `2024-01-31 23:30:00.123456` (ClickHouse's text form, UTC) → `2024-01-31T23:30:00.123Z`. */
function isoMillis(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?)?/.exec(text);
  if (!m) return text;
  if (m[2] === undefined) return `${m[1]}T00:00:00.000Z`;
  const frac = ((m[3] ?? '') + '000').slice(0, 3);
  return `${m[1]}T${m[2]}.${frac}Z`;
}

/** The full-precision ISO form (microseconds), for copying rows between stores without loss. */
export function isoMicros(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?)?/.exec(text);
  if (!m) return text;
  if (m[2] === undefined) return `${m[1]}T00:00:00.000000Z`;
  const frac = ((m[3] ?? '') + '000000').slice(0, 6);
  return `${m[1]}T${m[2]}.${frac}Z`;
}

function integer(v: unknown): unknown {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/**
 * One value of type `t` as the JS value DuckDB's engine would return. `exact` keeps timestamps at
 * full precision (microseconds, for copies) instead of DuckDB's milliseconds.
 */
export function fromClickHouse(v: unknown, t: ChType, exact = false): unknown {
  if (v === null || v === undefined) return null;
  switch (t.name) {
    case 'Nullable':
    case 'LowCardinality':
    case 'SimpleAggregateFunction':
      return fromClickHouse(v, t.args[0] as ChType, exact);
    case 'Int64':
    case 'UInt64':
    case 'Int128':
    case 'UInt128':
    case 'Int256':
    case 'UInt256':
      return integer(v);
    case 'Decimal':
    case 'Decimal32':
    case 'Decimal64':
    case 'Decimal128':
    case 'Decimal256':
      return typeof v === 'string' ? Number(v) : v;
    case 'DateTime':
    case 'DateTime64':
    case 'Date':
    case 'Date32':
      return typeof v === 'string' ? (exact ? isoMicros(v) : isoMillis(v)) : v;
    case 'Array':
      return Array.isArray(v) ? v.map((x) => fromClickHouse(x, t.args[0] as ChType, exact)) : v;
    case 'Tuple': {
      if (!Array.isArray(v) && typeof v === 'object') {
        // Named tuples come as objects.
        const o = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        (t.names ?? []).forEach((n, i) => (out[n] = fromClickHouse(o[n], t.args[i] as ChType, exact)));
        return out;
      }
      return Array.isArray(v) ? v.map((x, i) => fromClickHouse(x, t.args[i] as ChType, exact)) : v;
    }
    case 'Map': {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        out[k] = fromClickHouse(x, t.args[1] as ChType, exact);
      }
      return out;
    }
    case 'Float32':
    case 'Float64':
      // ClickHouse writes non-finite floats as null in JSON (output_format_json_quote_denormals=0).
      return typeof v === 'string' ? Number(v) : v;
    default:
      return v;
  }
}

/** `2024-01-31 23:30:00.123000`: a Date in the text form ClickHouse parses for DateTime64(6, 'UTC'). */
export function chDateTime(d: Date): string {
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000`
  );
}

/**
 * A bound parameter: its ClickHouse type and the value handed to the client. Mirrors the DuckDB
 * engine's binding (safe integers as BIGINT, other numbers as DOUBLE, number lists as DOUBLE[]).
 */
export function bindParam(value: SqlValue): { type: string; value: unknown } {
  // Nullable(Nothing): a null that takes the type of wherever it is used, as DuckDB's untyped NULL does.
  if (value === null) return { type: 'Nullable(Nothing)', value: null };
  if (typeof value === 'string') return { type: 'String', value };
  if (typeof value === 'boolean') return { type: 'Bool', value: value ? 'true' : 'false' };
  if (typeof value === 'bigint') return { type: 'Int64', value: value.toString() };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? { type: 'Int64', value } : { type: 'Float64', value };
  }
  if (value instanceof Date) return { type: "DateTime64(6, 'UTC')", value: chDateTime(value) };
  if (value.every((x) => typeof x === 'string')) return { type: 'Array(String)', value: [...value] };
  return { type: 'Array(Float64)', value: [...value] };
}

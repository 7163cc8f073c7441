/**
 * The ICP ("ideal customer profile") rule of the config (`icp.all`, SPEC §4) as one boolean SQL
 * expression over an organization's group properties (a JSON column). Every condition must hold.
 * Written once against the dialect; property names and values are bound parameters or quoted JSON
 * paths, never SQL text. Semantics (docs/analyses.md#icp-vs-non-icp):
 *
 * - `=` / `!=`: a number value compares numerically (the property read as a number, so `50` and
 *   `"50"` match 50); a boolean compares with the JSON `true`/`false`; a string compares as text.
 *   Like PostHog's "is not", `!=` also holds when the property is not set.
 * - `>`, `>=`, `<`, `<=`: numeric when the value is a number, else text order (ISO dates sort
 *   correctly as text). A missing property never satisfies them.
 * - `in` / `not in`: the value is a list; numbers in it compare numerically, strings as text.
 *   `not in` holds when the property is not set.
 * - `contains`: case-insensitive substring of the property's text (for a JSON list property, of
 *   its JSON text, so `tags contains "beta"` works).
 * - `is set` / `is not set`: present and not JSON null, or not.
 */
import type { IcpCondition } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { Dialect } from '../store/dialect.js';
import { join, raw, sql, type Sql } from '../store/sql.js';

type Scalar = string | number | boolean;

function where(i: number): { file: string; field: string } {
  return { file: 'sextant.config.yaml', field: `icp.all[${i}].value` };
}

function scalarValue(c: IcpCondition, i: number): Scalar {
  if (c.value === undefined || Array.isArray(c.value)) {
    throw new InputError(`operator '${c.op}' needs a single value (a number, text or true/false)`, where(i));
  }
  return c.value;
}

function listValue(c: IcpCondition, i: number): (string | number)[] {
  if (!Array.isArray(c.value) || c.value.length === 0) {
    throw new InputError(`operator '${c.op}' needs a non-empty list of values, e.g. [a, b]`, where(i));
  }
  return c.value;
}

/** `prop = value` with the value's own type (see the file comment); null when the property is absent. */
function sqlEquals(d: Dialect, props: Sql, property: string, value: Scalar): Sql {
  if (typeof value === 'number') return sql`(${d.sqlJsonNumber(props, [property])} = ${value})`;
  return sql`(${d.sqlJsonString(props, [property])} = ${String(value)})`;
}

function sqlCondition(d: Dialect, props: Sql, c: IcpCondition, i: number): Sql {
  const text = d.sqlJsonString(props, [c.property]);
  const num = d.sqlJsonNumber(props, [c.property]);
  switch (c.op) {
    case '=':
      return sql`coalesce(${sqlEquals(d, props, c.property, scalarValue(c, i))}, FALSE)`;
    case '!=':
      return sql`NOT coalesce(${sqlEquals(d, props, c.property, scalarValue(c, i))}, FALSE)`;
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const v = scalarValue(c, i);
      if (typeof v === 'boolean') {
        throw new InputError(`operator '${c.op}' compares numbers or text, not true/false`, where(i));
      }
      const lhs = typeof v === 'number' ? num : text;
      return sql`coalesce(${lhs} ${raw(c.op)} ${v}, FALSE)`;
    }
    case 'in':
    case 'not in': {
      const values = listValue(c, i);
      const nums = values.filter((v): v is number => typeof v === 'number');
      const texts = values.filter((v): v is string => typeof v === 'string');
      const parts: Sql[] = [];
      if (nums.length) parts.push(sql`coalesce(${num} IN (${join(nums.map((v) => sql`${v}`))}), FALSE)`);
      if (texts.length) parts.push(sql`coalesce(${text} IN (${join(texts.map((v) => sql`${v}`))}), FALSE)`);
      const any = sql`(${join(parts, ' OR ')})`;
      return c.op === 'in' ? any : sql`NOT ${any}`;
    }
    case 'contains': {
      const v = scalarValue(c, i);
      return sql`coalesce(position(lower(${String(v)}) IN lower(${text})) > 0, FALSE)`;
    }
    case 'is set':
      return sql`(${text} IS NOT NULL)`;
    case 'is not set':
      return sql`(${text} IS NULL)`;
  }
}

/**
 * The ICP rule over `properties` (an organization's group properties, JSON), as a boolean SQL
 * expression that is never null. An empty rule is FALSE (callers should check `hasIcpRule` first
 * and say how to configure one). Throws `InputError` naming the condition when a value does not
 * fit its operator.
 */
export function sqlIcpRule(d: Dialect, conditions: readonly IcpCondition[], properties: Sql): Sql {
  if (conditions.length === 0) return raw('FALSE');
  // CAST: a comparison is a BOOLEAN in DuckDB but a UInt8 in ClickHouse, where a UNION of the rule
  // with a stored boolean then reads 0/1 instead of false/true (the conformance suite found it).
  return sql`CAST((${join(
    conditions.map((c, i) => sqlCondition(d, properties, c, i)),
    ' AND ',
  )}) AS BOOLEAN)`;
}

export function hasIcpRule(conditions: readonly IcpCondition[]): boolean {
  return conditions.length > 0;
}

/** The rule in words, for methods and findings: `employees >= 50 and industry in [saas, fintech]`. */
export function describeIcpRule(conditions: readonly IcpCondition[]): string {
  return conditions
    .map((c) => {
      if (c.op === 'is set' || c.op === 'is not set') return `${c.property} ${c.op}`;
      const v = Array.isArray(c.value) ? `[${c.value.join(', ')}]` : String(c.value);
      return `${c.property} ${c.op} ${v}`;
    })
    .join(' and ');
}

/** How to configure a rule, for the "no ICP rule" answer. */
export const ICP_RULE_HOWTO =
  'add a rule to sextant.config.yaml, e.g. `icp: { all: [{ property: employees, op: ">=", value: 50 }] }` ' +
  '(conditions on organization group properties, all must hold)';

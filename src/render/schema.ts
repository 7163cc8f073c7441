import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { isMonth, monthsEndingAt } from '../domain/month.js';
import { reviewJsonSchema } from '../domain/review.js';

/**
 * Validates a review.json against the JSON Schema generated from the zod schemas of
 * domain/review.ts (the same one `npm run build` writes to schema/review.schema.json for other
 * tools), plus the relations a JSON Schema cannot state: each series holds exactly the 13 months
 * ending at the review's month, anomalies name metrics that exist, ids are unique, every number is
 * finite. Checked with ajv, an independent validator, so the published schema itself is tested.
 */

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = reviewJsonSchema();
  // strict off: the schema's if/then blocks narrow `properties` without repeating `type`.
  const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true });
  compiled = ajv.compile(schema);
  return compiled;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'contains') {
    const wanted = (e.schema as { properties?: { id?: { const?: unknown } } } | undefined)?.properties?.id
      ?.const;
    if (typeof wanted === 'string') return `${where}: no item with id '${wanted}'`;
  }
  if (e.keyword === 'required') return `${where}: missing '${String(e.params.missingProperty)}'`;
  if (e.keyword === 'enum')
    return `${where}: ${JSON.stringify(e.data)} is not one of ${JSON.stringify(e.params.allowedValues)}`;
  return `${where}: ${e.message ?? e.keyword}`;
}

function nonFinite(value: unknown, path: string, out: string[]): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) out.push(`${path || '/'}: number is not finite (${value})`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nonFinite(v, `${path}/${i}`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) nonFinite(v, `${path}/${k}`, out);
  }
}

function asArray(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v)
    ? v.filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object')
    : [];
}

function relations(r: Record<string, unknown>, out: string[]): void {
  const metrics = asArray(r.metrics);
  const ids = new Set<unknown>();
  for (const [i, m] of metrics.entries()) {
    if (ids.has(m.id)) out.push(`/metrics/${i}: duplicate metric id '${String(m.id)}'`);
    ids.add(m.id);
  }
  if (typeof r.month === 'string' && isMonth(r.month)) {
    const want = monthsEndingAt(r.month, 13).join();
    for (const [i, m] of metrics.entries()) {
      const got = asArray(m.series)
        .map((p) => String(p.month))
        .join();
      if (got !== want)
        out.push(`/metrics/${i}/series: metric '${String(m.id)}' months are not the 13 ending at ${r.month}`);
    }
  }
  for (const [i, a] of asArray(r.anomalies).entries()) {
    if (!ids.has(a.metricId)) out.push(`/anomalies/${i}: names unknown metric '${String(a.metricId)}'`);
  }
  const dives = new Set<unknown>();
  for (const [i, d] of asArray(r.deepDives).entries()) {
    if (dives.has(d.id)) out.push(`/deepDives/${i}: duplicate deep dive id '${String(d.id)}'`);
    dives.add(d.id);
  }
  nonFinite(r, '', out);
}

export function validateReview(review: unknown): { ok: boolean; errors: string[] } {
  const validate = validator();
  const errors: string[] = [];
  if (!validate(review)) {
    // An `if` failure only says "must match then", and a `contains` failure lists why each item
    // was not the one wanted; the `then` branch's errors and the `contains` error itself say what.
    for (const e of validate.errors ?? []) {
      if (e.keyword !== 'if' && !e.schemaPath.includes('/contains/')) errors.push(describe(e));
    }
  }
  if (review !== null && typeof review === 'object' && !Array.isArray(review)) {
    relations(review as Record<string, unknown>, errors);
  }
  const unique = [...new Set(errors)];
  return { ok: unique.length === 0, errors: unique };
}

import type { Month } from '../domain/month.js';
import type { Metric } from '../domain/review.js';
import type { MetricValues } from './types.js';

/**
 * Turns a family's values into the SPEC §5 metric shape over `months` (oldest first): the series,
 * `current` (the last month), `previous` (the one before) and the month-on-month `change` —
 * relative for money and counts, absolute (points) for ratios and NPS.
 */
export function toMetric(v: MetricValues, months: readonly Month[]): Metric {
  const series = months.map((month) => ({ month, value: finiteOrNull(v.values.get(month)) }));
  const current = series.at(-1)?.value ?? null;
  const previous = series.at(-2)?.value ?? null;
  const changeKind = v.unit === 'ratio' || v.unit === 'nps' ? 'absolute' : 'relative';
  let change: number | null = null;
  if (current !== null && previous !== null) {
    if (changeKind === 'absolute') change = current - previous;
    else if (previous !== 0) change = (current - previous) / Math.abs(previous);
  }
  const metric: Metric = {
    id: v.id,
    group: v.group,
    label: v.label,
    unit: v.unit,
    series,
    current,
    previous,
    change,
    changeKind,
    description: v.description,
  };
  if (v.detail) {
    const detail: Record<Month, Record<string, unknown>> = {};
    for (const m of months) {
      const d = v.detail.get(m);
      if (d) detail[m] = d;
    }
    if (Object.keys(detail).length > 0) metric.detail = detail;
  }
  return metric;
}

function finiteOrNull(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

import type { Metric, Review } from '../domain/review.js';

/**
 * Words for the ids review.json uses, so no internal id reaches a reader: metric ids by the
 * metric's own label, deep-dive ids and highlight sources by a title. Shared by HTML and Markdown.
 */

/** Short titles of the deep dives (their questions are long). */
export const DIVE_TITLES: Record<string, string> = {
  'top-customers': 'Top customers',
  'icp-vs-non-icp': 'ICP vs non-ICP',
  'churn-reasons': 'Why customers churned',
  'leading-indicators': 'Leading indicators of retention',
  'onboarding-funnel': 'Onboarding funnel',
};

/** `net_new_mrr` → "net new mrr", `key_action:signed up` → "key action: signed up". */
export function humanizeId(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .replace(/:(?=\S)/g, ': ')
    .replace(/-/g, ' ')
    .toLowerCase();
}

export function diveTitle(id: string): string {
  const t = DIVE_TITLES[id];
  if (t) return t;
  const h = humanizeId(id);
  return h.charAt(0).toUpperCase() + h.slice(1);
}

export interface Labels {
  metric: (id: string) => string;
  metricById: (id: string) => Metric | undefined;
  /** A highlight's `source` (`anomaly:<metric>`, `metric:<metric>`, `dive:<dive>`) in words. */
  source: (source: string) => string;
}

export function labelsOf(r: Review): Labels {
  const byId = new Map(r.metrics.map((m) => [m.id, m]));
  const metric = (id: string) => byId.get(id)?.label ?? humanizeId(id);
  return {
    metric,
    metricById: (id) => byId.get(id),
    source: (source) => {
      const i = source.indexOf(':');
      const kind = source.slice(0, i);
      const id = source.slice(i + 1);
      if (kind === 'anomaly') return 'anomaly';
      if (kind === 'metric') return 'month-on-month move';
      if (kind === 'dive') return diveTitle(id);
      return humanizeId(source);
    },
  };
}

/**
 * Whether a metric covers only the review's product, or counts company-wide data in a product's
 * review (docs/metrics.md#feedback): NPS answers always count for every product, and other
 * feedback does unless it is tagged `product:<name>`. null in the company-wide review itself.
 */
export function metricScope(
  r: Review,
  m: Metric,
): 'product' | 'company-wide' | 'includes company-wide' | null {
  if (r.product === 'all') return null;
  if (m.group !== 'feedback') return 'product';
  return m.id.startsWith('nps') ? 'company-wide' : 'includes company-wide';
}

export const SCOPE_NOTE =
  'NPS answers count for every product; other feedback counts for every product unless it is tagged product:<name>.';

import type { Review } from '../domain/review.js';

/**
 * review.json: 2-space indent, a trailing newline, and a stable key order independent of how the
 * review object was built — the keys SPEC §5 and src/domain/review.ts name come first in the order
 * they are documented, any other key (a dive's extra data, a finding's evidence) follows sorted.
 * The same review gives the same bytes.
 */

const KEY_ORDER = [
  // review
  'schemaVersion',
  'product',
  'month',
  'generatedAt',
  'currency',
  'dataCoverage',
  'metrics',
  'anomalies',
  'deepDives',
  'highlights',
  'previous',
  'launches',
  // dataCoverage
  'complete',
  'statement',
  'period',
  'days',
  'coveredDays',
  'from',
  'to',
  'events',
  'persons',
  'organizations',
  'billing',
  'customers',
  'invoiceLines',
  'subscriptionRows',
  'feedback',
  'count',
  'first',
  'last',
  'imported',
  'rejected',
  'monthsWithEvents',
  'monthsWithBilling',
  'notes',
  // metric, anomaly
  'id',
  'metricId',
  'group',
  'label',
  'unit',
  'series',
  'value',
  'current',
  'previous',
  'change',
  'changeKind',
  'description',
  'detail',
  'direction',
  'expected',
  'actual',
  'score',
  'explanation',
  // deep dive, finding, highlight
  'question',
  'summary',
  'method',
  'findings',
  'title',
  'evidence',
  'data',
  'source',
  'weight',
  // deep dive rows
  'organization',
  'name',
  'event',
  'dimension',
  'mrr',
  'health',
  'signals',
  'icpRate',
  'nonIcpRate',
  'difference',
  'churned',
  'drivers',
  'churnRate',
  'baselineRate',
  'lift',
  'pValue',
  'indicators',
  'threshold',
  'windowDays',
  'outcomeDays',
  'precision',
  'recall',
  'steps',
  'conversionFromPrevious',
  'medianSecondsFromPrevious',
  'biggestDrop',
  // previous
  'decision',
  'outcome',
  'note',
  'decidedAt',
  'todos',
  'owner',
  'status',
  'createdAt',
  'doneAt',
  'metricIds',
  'metricsSince',
  'then',
  'now',
  // launches (SPEC §5): launch, then effect
  'date',
  'flag',
  'kind',
  'inMonth',
  'effects',
  'variant',
  'estimate',
  'interval',
  'verdict',
  'statement',
];
const RANK = new Map(KEY_ORDER.map((k, i) => [k, i]));

function compareKeys(a: string, b: string): number {
  const ra = RANK.get(a) ?? Infinity;
  const rb = RANK.get(b) ?? Infinity;
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
}

function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (value === null || typeof value !== 'object') return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return ordered((toJSON as () => unknown).call(value));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort(compareKeys)) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = ordered(v);
  }
  return out;
}

export function renderJson(review: Review): string {
  return JSON.stringify(ordered(review), null, 2) + '\n';
}

import { SPEC_METRIC_IDS } from '../domain/review.js';

export { SPEC_METRIC_IDS };

/** The metric ids SPEC §5 guarantees (domain/review.ts), and the others Sextant computes; used to spot ids in free text. */

export const METRIC_IDS_KNOWN: readonly string[] = [
  ...SPEC_METRIC_IDS,
  'net_new_mrr',
  'gross_revenue_retention',
  'arr',
  'new_users',
  'new_organizations',
  'activation_rate',
  'stickiness',
  'dau',
  'wau',
  'mau',
  'tickets_open',
];

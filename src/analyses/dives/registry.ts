import { churnReasons } from './churn-reasons.js';
import { icpVsNonIcp } from './icp-vs-non-icp.js';
import { leadingIndicators } from './leading-indicators.js';
import { onboardingFunnel } from './onboarding-funnel.js';
import { topCustomers } from './top-customers.js';
import type { DeepDiveRunner } from './types.js';

/** The deep dives a review runs, in the order the review shows them (SPEC §5 ids). */
export const DEEP_DIVES: DeepDiveRunner[] = [
  topCustomers,
  icpVsNonIcp,
  churnReasons,
  leadingIndicators,
  onboardingFunnel,
];

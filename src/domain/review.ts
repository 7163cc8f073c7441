import { z } from 'zod';

/**
 * The review document (SPEC §5): everything review.json holds. The zod schemas below are the one
 * source of both the TypeScript types (`z.infer`) and the JSON Schema shipped as
 * schema/review.schema.json (`reviewJsonSchema()`, written by `npm run build`). What plain
 * JSON Schema cannot say about one object (NPS bounds, per-dive data) is stated once by `when`,
 * which adds the zod check and the schema's `if`/`then` from the same zod schema.
 */

export const monthSchema = z.string().regex(/^[0-9]{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM');

const nullableNumber = z.number().nullable();
const nullableString = z.string().nullable();

/** `rule.then` must hold for every object whose `key` is `value`: a zod check and a JSON Schema `if`/`then`. */
interface Conditional {
  key: string;
  value: string;
  then: z.ZodType;
}

function when<T extends z.ZodType>(base: T, rules: readonly Conditional[]): T {
  return base
    .superRefine((v, ctx) => {
      const o = v as Record<string, unknown>;
      for (const r of rules) {
        if (o[r.key] !== r.value) continue;
        const res = r.then.safeParse(v);
        if (!res.success) for (const issue of res.error.issues) ctx.addIssue({ ...issue, code: 'custom' });
      }
    })
    .meta({
      allOf: rules.map((r) => ({
        if: { properties: { [r.key]: { const: r.value } }, required: [r.key] },
        then: withoutDialect(z.toJSONSchema(r.then, { io: 'input', unrepresentable: 'any' })),
      })),
    });
}

/** Every item with `id` equal to each of `ids` must be present: a zod check and `contains` per id. */
function containsIds<T extends z.ZodArray>(base: T, ids: readonly string[], what: string): T {
  return base
    .superRefine((items, ctx) => {
      const have = new Set((items as { id?: unknown }[]).map((x) => x.id));
      for (const id of ids)
        if (!have.has(id)) ctx.addIssue({ code: 'custom', message: `no ${what} '${id}'` });
    })
    .meta({
      allOf: ids.map((id) => ({ contains: { properties: { id: { const: id } }, required: ['id'] } })),
    });
}

/** A sub-schema embedded in the review's schema carries no `$schema` of its own. */
function withoutDialect(s: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...s };
  delete rest.$schema;
  return rest;
}

// ---- metrics ---------------------------------------------------------------------------------

export const metricGroupSchema = z.enum(['revenue', 'usage', 'feedback']);
export type MetricGroup = z.infer<typeof metricGroupSchema>;

/**
 * `currency`: major units of reporting.currency; `ratio`: a fraction (0.052 is 5.2%);
 * `count`: an integer; `nps`: −100..100; `seconds`: a duration.
 */
export const metricUnitSchema = z.enum(['currency', 'ratio', 'count', 'nps', 'seconds']);
export type MetricUnit = z.infer<typeof metricUnitSchema>;

export const metricPointSchema = z.object({
  month: monthSchema,
  /** null when it cannot be computed for that month (no data, or a zero denominator), never 0. */
  value: nullableNumber,
});
export type MetricPoint = z.infer<typeof metricPointSchema>;

const npsValue = z.number().min(-100).max(100).nullable();
const countValue = z.int().nullable();

export const metricSchema = when(
  z.object({
    id: z.string().min(1),
    group: metricGroupSchema,
    label: z.string().min(1),
    unit: metricUnitSchema,
    /** 13 months ending at the review's month, oldest first. */
    series: z.array(metricPointSchema).length(13),
    current: nullableNumber,
    previous: nullableNumber,
    /**
     * Month-on-month change: relative ((current − previous) / |previous|) for currency and counts,
     * absolute (current − previous) for ratios and NPS. `changeKind` says which. null when either
     * side is null or the relative base is 0.
     */
    change: nullableNumber,
    changeKind: z.enum(['relative', 'absolute']),
    /** One line: what it measures and how (links to docs/metrics.md). */
    description: z.string().optional(),
    /** Per-month extra detail (e.g. NPS interval, sample size), keyed by month. */
    detail: z.record(monthSchema, z.record(z.string(), z.unknown())).optional(),
  }),
  [
    {
      key: 'id',
      value: 'nps',
      then: z.looseObject({
        series: z.array(z.looseObject({ value: npsValue })),
        current: npsValue,
        previous: npsValue,
      }),
    },
    {
      key: 'unit',
      value: 'count',
      then: z.looseObject({
        series: z.array(z.looseObject({ value: countValue })),
        current: countValue,
        previous: countValue,
      }),
    },
  ],
).meta({ id: 'metric' });
export type Metric = z.infer<typeof metricSchema>;

/** The test that decided an anomaly (docs/analyses.md, "Anomalies"). */
export const anomalyEvidenceSchema = z
  .object({
    /** `poisson-gamma-predictive`, `beta-binomial-predictive`, `nps-two-sample-z`,
     * `robust-median-mad`; joined with `+t-prediction-interval` when the months before were
     * overdispersed. */
    test: z.string(),
    pValue: z.number(),
    /** Benjamini–Hochberg adjusted across the metrics judged this month. */
    qValue: z.number(),
    correction: z.string(),
    metricsTested: z.number(),
    falseDiscoveryRate: z.number(),
    baselineMonths: z.number(),
    /** The trailing months' values, oldest first. */
    baseline: z.array(z.number()),
    /** The central 95% of what the trailing months predict. */
    interval95: z.tuple([z.number(), z.number()]).nullable(),
    /** Trials or answers behind this month's rate or NPS. */
    sampleSize: z.number().nullable(),
    overdispersed: z.boolean(),
  })
  .meta({ id: 'anomalyEvidence' });
export type AnomalyEvidence = z.infer<typeof anomalyEvidenceSchema>;

export const anomalySchema = z
  .object({
    metricId: z.string(),
    month: monthSchema,
    direction: z.enum(['up', 'down']),
    expected: z.number(),
    actual: z.number(),
    score: z.number(),
    explanation: z.string(),
    /** Absent in reviews written before issue 17. */
    evidence: anomalyEvidenceSchema.optional(),
  })
  .meta({ id: 'anomaly' });
export type Anomaly = z.infer<typeof anomalySchema>;

// ---- deep dives ------------------------------------------------------------------------------

export const findingSchema = z
  .object({
    title: z.string(),
    detail: z.string(),
    /** Numbers a skeptic checks: method/test name, sample sizes, p-values, intervals. */
    evidence: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'finding' });
export type Finding = z.infer<typeof findingSchema>;

/** Rows holding at least the named fields (more are allowed). */
const rows = <S extends z.ZodRawShape>(shape: S) => z.array(z.looseObject(shape));

/** What SPEC §5 requires of each deep dive's `data`, by dive id (a dive may hold more). */
export const DIVE_DATA = {
  'top-customers': z.looseObject({
    customers: rows({
      organization: z.string(),
      name: nullableString,
      mrr: nullableNumber,
      health: z.enum(['happy', 'neutral', 'at-risk', 'unhappy']),
      signals: z.unknown(),
    }),
  }),
  'icp-vs-non-icp': z.looseObject({
    features: rows({
      event: z.string(),
      icpRate: nullableNumber,
      nonIcpRate: nullableNumber,
      difference: nullableNumber,
      pValue: nullableNumber,
    }),
  }),
  'churn-reasons': z.looseObject({
    churned: rows({ organization: z.string(), mrr: nullableNumber }),
    drivers: rows({
      dimension: z.string(),
      value: z.unknown(),
      churnRate: nullableNumber,
      baselineRate: nullableNumber,
      lift: nullableNumber,
      pValue: nullableNumber,
    }),
  }),
  'leading-indicators': z.looseObject({
    indicators: rows({
      event: z.string(),
      threshold: z.number(),
      windowDays: z.number(),
      outcomeDays: z.number(),
      precision: nullableNumber,
      recall: nullableNumber,
      lift: nullableNumber,
      score: nullableNumber,
    }),
  }),
  'onboarding-funnel': z.looseObject({
    steps: rows({
      name: z.string(),
      count: z.int().min(0),
      conversionFromPrevious: nullableNumber,
      medianSecondsFromPrevious: nullableNumber,
    }),
    biggestDrop: nullableString,
  }),
} as const;
export type DeepDiveId = keyof typeof DIVE_DATA;
export const DEEP_DIVE_IDS = Object.keys(DIVE_DATA) as DeepDiveId[];

export const deepDiveSchema = when(
  z.object({
    id: z.string().min(1),
    question: z.string(),
    /** Plain language; says "not enough data" when that is the answer. */
    summary: z.string(),
    /** How it was computed, with the tests used. */
    method: z.string(),
    findings: z.array(findingSchema),
    data: z.record(z.string(), z.unknown()),
  }),
  DEEP_DIVE_IDS.map((id) => ({ key: 'id', value: id, then: z.looseObject({ data: DIVE_DATA[id] }) })),
).meta({ id: 'deepDive' });
export type DeepDive = z.infer<typeof deepDiveSchema>;

export const highlightSchema = z
  .object({
    /** `metric:<id>`, `anomaly:<metricId>` or `dive:<id>`. */
    source: z.string().regex(/^(metric|anomaly|dive):.+$/),
    title: z.string(),
    detail: z.string(),
    /** Higher is more worth the meeting's time; comparable across sources. */
    weight: z.number(),
  })
  .meta({ id: 'highlight' });
export type Highlight = z.infer<typeof highlightSchema>;

// ---- the decision loop -------------------------------------------------------------------------

export const decisionOutcomeSchema = z.enum(['continue', 'reprioritize', 'change-goals', 'new-projects']);
export type DecisionOutcome = z.infer<typeof decisionOutcomeSchema>;

export const todoSchema = z
  .object({
    id: z.int(),
    title: z.string(),
    owner: nullableString,
    status: z.enum(['open', 'done']),
    createdAt: z.string(),
    doneAt: nullableString,
    metricIds: z.array(z.string()),
  })
  .meta({ id: 'todo' });
export type Todo = z.infer<typeof todoSchema>;

export const decisionSchema = z.object({
  outcome: decisionOutcomeSchema,
  note: nullableString,
  decidedAt: z.string(),
  metricIds: z.array(z.string()),
});
export type Decision = z.infer<typeof decisionSchema>;

export const previousReviewSchema = z
  .object({
    month: monthSchema,
    decision: decisionSchema.nullable(),
    todos: z.array(todoSchema),
    /** How the metrics the decision or a to-do names moved since that review. */
    metricsSince: z.array(
      z.object({ metricId: z.string(), then: nullableNumber, now: nullableNumber, change: nullableNumber }),
    ),
  })
  .meta({ id: 'previousReview' });
export type PreviousReview = z.infer<typeof previousReviewSchema>;

// ---- what we shipped ---------------------------------------------------------------------------

/** How a launch's effect on one metric reads (SPEC §5 `launches[].effects[].verdict`). */
export const launchVerdictSchema = z.enum(['moved', 'no-effect', 'not-enough-data', 'split-broken']);
export type LaunchVerdict = z.infer<typeof launchVerdictSchema>;

const interval = z.tuple([z.number(), z.number()]).nullable();

export const launchEffectSchema = z
  .object({
    metricId: z.string(),
    /** The variant compared with the control, for an experiment; null otherwise. */
    variant: nullableString,
    /** The relative effect (0.12 is +12%); null when it could not be estimated. */
    estimate: nullableNumber,
    /** Its 95% interval. */
    interval,
    /** `experiment`, `interrupted-time-series` or `not-yet-exposed` (docs/analyses.md#launches). */
    method: z.string(),
    verdict: launchVerdictSchema,
    /** The verdict in words, with its numbers. */
    statement: z.string(),
    /** What a skeptic checks: samples, p- and q-values, chance to beat control, SRM, CUPED, fit. */
    evidence: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'launchEffect' });
export type LaunchEffect = z.infer<typeof launchEffectSchema>;

/** A launch of the review month or the three before, and what it did (SPEC §5 `launches[]`). */
export const launchReviewSchema = z
  .object({
    /** A stored launch's id (`sextant launch remove`); null for one from the config. */
    id: z.int().nullable(),
    title: z.string(),
    /** The UTC day it shipped, YYYY-MM-DD. */
    date: z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/),
    product: z.string(),
    flag: nullableString,
    /** The metric ids its effects name. */
    metrics: z.array(z.string()),
    /** `experiment`: a flag with a control; `rollout`: a flag without one; `launch`: no flag. */
    kind: z.enum(['experiment', 'rollout', 'launch']),
    /** Shipped in the review month (else in one of the three before). */
    inMonth: z.boolean(),
    effects: z.array(launchEffectSchema),
    /** Why it was judged as it was (e.g. a flag whose rollout was not gradual). */
    notes: z.array(z.string()),
    /** The to-dos whose title names this launch: the decision loop's link to what shipped. */
    todos: z.array(
      z.object({ id: z.int(), month: monthSchema, title: z.string(), status: z.enum(['open', 'done']) }),
    ),
  })
  .meta({ id: 'launch' });
export type LaunchReview = z.infer<typeof launchReviewSchema>;

// ---- coverage and method -----------------------------------------------------------------------

const day = z
  .string()
  .regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'must be a day, YYYY-MM-DD')
  .nullable();

/** What the import ledger (`imports`) says of a source: whether it was ever imported, what was rejected. */
const ledger = {
  /** Any import of this source is recorded (else "none" may just mean "never imported"). */
  imported: z.boolean(),
  /** Records the latest import of each file rejected (`sextant imports` lists them). */
  rejected: z.int().min(0),
};

/** First and last day of a source's data (UTC), and its ledger. */
const span = z.object({ count: z.int().min(0), first: day, last: day, ...ledger });

/**
 * Whether the review's month is one the data can speak for (docs/metrics.md, "Null or zero"):
 * `complete` — over, and the data covers each of its days; `unfinished` — not over yet (the
 * review was generated inside it); `partial` — over, but the data ends (or starts) inside it;
 * `outside` — the data has nothing on or after it, or starts after it.
 */
export const monthStatusSchema = z.enum(['complete', 'unfinished', 'partial', 'outside']);
export type MonthStatus = z.infer<typeof monthStatusSchema>;

export const dataCoverageSchema = z
  .object({
    /** Whether the month is complete: over, and covered by the data to its last day. */
    complete: z.boolean(),
    status: monthStatusSchema,
    /** What the documents say on top when the month is not complete; null when it is. */
    statement: nullableString,
    /** The days of the review's month the data covers (UTC, both included). */
    period: z.object({
      days: z.int().min(28).max(31),
      coveredDays: z.int().min(0).max(31),
      from: day,
      to: day,
    }),
    /** The data's first and last day, any source: its end is taken as the time of the export. */
    first: day,
    last: day,
    events: span,
    persons: z.int().min(0),
    organizations: z.int().min(0),
    billing: z.object({
      customers: z.int().min(0),
      invoiceLines: z.int().min(0),
      subscriptionRows: z.int().min(0),
      /** From the first day revenue history covers to the last day something happened in billing. */
      first: day,
      last: day,
      ...ledger,
    }),
    feedback: span,
    /** Months of the 13 with any data of each kind. */
    monthsWithEvents: z.array(monthSchema),
    monthsWithBilling: z.array(monthSchema),
    notes: z.array(z.string()),
  })
  .meta({ id: 'dataCoverage' });
export type DataCoverage = z.infer<typeof dataCoverageSchema>;

/** How anomalies were judged, and the detector's measured false-positive rate (a back-test). */
export const anomalyDetectionSchema = z.object({
  method: z.string(),
  /** Legacy config value; flags are decided by `falseDiscoveryRate`. */
  threshold: z.number(),
  trailingMonths: z.number(),
  /** Benjamini–Hochberg level across the month's metrics. */
  falseDiscoveryRate: z.number().optional(),
  /** The nominal bound per review (the back-test measures it: `sextant backtest`). */
  falsePositiveRate: z.number(),
  /** One sentence for the reader on how anomalies are judged. */
  statement: z.string(),
});
export type AnomalyDetection = z.infer<typeof anomalyDetectionSchema>;

// ---- the review --------------------------------------------------------------------------------

/** The metric ids SPEC §5 guarantees in every review. */
export const SPEC_METRIC_IDS = [
  'mrr',
  'mrr_growth',
  'new_mrr',
  'expansion_mrr',
  'contraction_mrr',
  'churned_mrr',
  'reactivation_mrr',
  'revenue_churn_rate',
  'net_revenue_retention',
  'paying_customers',
  'churned_customers',
  'customer_churn_rate',
  'arpa',
  'active_users',
  'active_organizations',
  'user_growth_rate',
  'organization_growth_rate',
  'user_retention_rate',
  'nps',
  'nps_responses',
  'tickets',
  'feature_requests',
  'interviews',
] as const;

export const reviewSchema = z
  .object({
    schemaVersion: z.literal(1),
    product: z.string().min(1),
    month: monthSchema,
    generatedAt: z.string().min(1),
    currency: z.string().regex(/^[A-Z]{3}$/),
    dataCoverage: dataCoverageSchema,
    metrics: containsIds(z.array(metricSchema), SPEC_METRIC_IDS, 'metric'),
    anomalies: z.array(anomalySchema),
    anomalyDetection: anomalyDetectionSchema.optional(),
    deepDives: containsIds(z.array(deepDiveSchema), DEEP_DIVE_IDS, 'deep dive'),
    highlights: z.array(highlightSchema),
    previous: previousReviewSchema.nullable(),
    /** "What we shipped": absent in reviews stored before launches existed. */
    launches: z.array(launchReviewSchema).optional(),
  })
  .meta({
    title: 'Sextant growth review (review.json, SPEC §5)',
    description:
      'The shape of review.json, generated from the zod schemas in src/domain/review.ts. Relations a JSON Schema cannot state (each series holds the 13 months ending at `month`; anomalies name known metrics; numbers are finite) are checked by validateReview in src/render/schema.ts.',
  });
export type Review = z.infer<typeof reviewSchema>;

/**
 * The JSON Schema (draft 2020-12) of review.json, from `reviewSchema`. Extra keys are allowed
 * everywhere (the contract is extended compatibly), so it describes the input side.
 */
export function reviewJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(reviewSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return { $schema: s.$schema, $id: 'https://sextant.dev/schema/review.schema.json', ...s };
}

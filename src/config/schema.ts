import { z } from 'zod';
import { launchMetricSchema } from '../launches/metric.js';

/**
 * The schema of `sextant.config.yaml` (SPEC §4). Strict: an unknown key is an error naming it.
 * Defaults here are the single source; `sextant init` prints them with comments (template.ts).
 */
const icpCondition = z.strictObject({
  property: z.string().min(1),
  op: z.enum(['=', '!=', '>', '>=', '<', '<=', 'in', 'not in', 'contains', 'is set', 'is not set']),
  value: z
    .union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))])
    .optional(),
});

const product = z.strictObject({
  name: z
    .string()
    .min(1)
    .regex(
      /^[a-z0-9][a-z0-9._-]*$/i,
      'a product name is letters, digits, ".", "_" or "-" (it names a folder)',
    )
    .refine((n) => n !== 'all', '"all" is the whole company and always exists; choose another name'),
  events: z.array(z.string().min(1)).default([]),
  stripeProducts: z.array(z.string().min(1)).default([]),
});

/** A launch the review judges (docs/analyses.md#launches): what shipped, when, and what it should move. */
const launch = z.strictObject({
  title: z.string().trim().min(1),
  /** The UTC day it shipped (or its experiment started). */
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD')
    .refine((d) => {
      const t = new Date(d + 'T00:00:00Z');
      return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
    }, 'not a calendar date'),
  product: z.string().min(1).default('all'),
  /** The feature flag it shipped behind; with a control variant it is judged as an experiment. */
  flag: z.string().min(1).optional(),
  /** The metrics it should move: an event name (a conversion) or `{ event, type, property? }`. */
  metrics: z.array(launchMetricSchema).default([]),
  /** Who the flag randomizes: a person, or an organization for a group flag. */
  unit: z.enum(['person', 'organization']).default('person'),
  /** The flag's control variant; default `control`, else `false`. */
  control: z.string().min(1).optional(),
  /** Days after a unit's exposure (or after the launch) the metric is read in. */
  windowDays: z.number().int().min(1).max(90).default(14),
});

/**
 * The server's monthly schedule (docs/http.md#the-monthly-schedule): on `day` at `time` (UTC) of
 * each month, `sextant serve` builds the reviews of the month before. Days 29–31 do not exist in
 * every month, so the day is 1–28.
 */
const schedule = z.strictObject({
  enabled: z.boolean().default(false),
  day: z.number().int().min(1).max(28).default(1),
  time: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a UTC time of day, HH:MM (24 h)')
    .default('06:00'),
  /** Which reviews; empty: every configured product and `all`. */
  products: z.array(z.string().min(1)).default([]),
});

/**
 * Where the scheduled review's summary goes. The secrets are not here but in the environment:
 * the Slack incoming webhook's URL in SEXTANT_SLACK_WEBHOOK_URL, the SMTP server (with its
 * password) in SEXTANT_SMTP_URL.
 */
const notify = z.strictObject({
  slack: z.boolean().default(false),
  email: z
    .strictObject({
      to: z.array(z.email()).default([]),
      from: z.string().min(3).default('sextant@localhost'),
    })
    .prefault({}),
  /** The web app's address as the team reaches it, for links in the summary (none when absent). */
  link: z.url({ protocol: /^https?$/ }).optional(),
});

export const configSchema = z
  .strictObject({
    products: z.array(product).default([]),
    activity: z
      .strictObject({
        activeEvents: z.array(z.string().min(1)).default(['*']),
        excludeEvents: z
          .array(z.string().min(1))
          .default(['$feature_flag_called', '$identify', '$groupidentify', 'survey sent']),
      })
      .prefault({}),
    onboarding: z
      .strictObject({
        steps: z.array(z.string().min(1)).default([]),
        windowDays: z.number().int().positive().default(14),
      })
      .prefault({}),
    keyActions: z.array(z.string().min(1)).default([]),
    icp: z.strictObject({ all: z.array(icpCondition).default([]) }).prefault({}),
    topCustomers: z.number().int().positive().default(10),
    leadingIndicators: z
      .strictObject({
        windowDays: z.array(z.number().int().positive()).nonempty().default([7, 14]),
        outcomeDays: z.array(z.number().int().positive()).nonempty().default([56, 90]),
        maxThreshold: z.number().int().positive().default(10),
      })
      .prefault({}),
    billing: z
      .strictObject({
        link: z.string().min(1).default('metadata.group_key'),
        /** When MRR starts for a period: when the invoice is issued (ChartMogul's default) or paid. */
        mrrFrom: z.enum(['issued', 'paid']).default('issued'),
        /** When a cancellation counts as churn: at the end of the paid period (default) or when canceled. */
        churnAt: z.enum(['period-end', 'cancellation']).default('period-end'),
      })
      .prefault({}),
    reporting: z
      .strictObject({
        currency: z
          .string()
          .regex(/^[A-Za-z]{3}$/, 'a three-letter ISO 4217 code')
          .transform((c) => c.toUpperCase())
          .default('USD'),
        /** Units of `currency` per one unit of each other currency, e.g. { EUR: 1.08 } when USD. */
        fx: z.record(z.string().regex(/^[A-Za-z]{3}$/), z.number().positive()).default({}),
      })
      .prefault({}),
    anomalies: z
      .strictObject({
        /** Kept so older configs load; anomalies are decided by falseDiscoveryRate since issue 17. */
        threshold: z.number().positive().default(3.5),
        trailingMonths: z.number().int().min(3).default(6),
        falseDiscoveryRate: z.number().gt(0).lt(1).default(0.05),
      })
      .prefault({}),
    server: z
      .strictObject({
        projectKey: z.string().optional(),
        stripeWebhookSecret: z.string().optional(),
        /** The capture log of `sextant serve` (docs/http.md, "Capture log"). */
        captureLog: z
          .strictObject({
            /** Where its segments live (default: `<db>.capture-log/` beside a DuckDB file). */
            dir: z.string().min(1).optional(),
            /** Captures are answered 503 with Retry-After while the unloaded log is larger (bytes). */
            maxBytes: z
              .number()
              .int()
              .min(1024 * 1024)
              .default(512 * 1024 * 1024),
          })
          .prefault({}),
        schedule: schedule.prefault({}),
        notify: notify.prefault({}),
      })
      .prefault({}),
    launches: z.array(launch).default([]),
  })
  .superRefine((c, ctx) => {
    const products = new Set(['all', ...c.products.map((p) => p.name)]);
    c.server.schedule.products.forEach((p, i) => {
      if (!products.has(p)) {
        ctx.addIssue({
          code: 'custom',
          path: ['server', 'schedule', 'products', i],
          message: `unknown product '${p}' (configured: ${[...products].join(', ')})`,
        });
      }
    });
    c.launches.forEach((l, i) => {
      if (!products.has(l.product)) {
        ctx.addIssue({
          code: 'custom',
          path: ['launches', i, 'product'],
          message: `unknown product '${l.product}' (configured: ${[...products].join(', ')})`,
        });
      }
    });
  });

export type Config = z.output<typeof configSchema>;
export type ProductConfig = Config['products'][number];
export type IcpCondition = z.output<typeof icpCondition>;
export type LaunchConfig = Config['launches'][number];

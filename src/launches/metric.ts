/**
 * A launch's or an experiment's metric (SPEC §6 `metric`): an event, how it is counted per unit,
 * and for a sum the numeric property added up. Shared by the experiment query, the config's
 * `launches:` and `sextant launch add`, so the three spell a metric the same way.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { propertyFilterSchema } from '../insights/common.js';

export const METRIC_TYPES = ['conversion', 'count', 'sum', 'retention'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export const metricSpecSchema = z
  .strictObject({
    event: z.string().min(1),
    type: z.enum(METRIC_TYPES).default('conversion'),
    /** The numeric event property a `sum` adds up. */
    property: z.string().min(1).optional(),
    properties: z.array(propertyFilterSchema).default([]),
    /** `retention`: the first day after exposure that counts (default 7). */
    startDay: z.number().int().min(1).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.type === 'sum' && !m.property) {
      ctx.addIssue({
        code: 'custom',
        path: ['property'],
        message: "a 'sum' metric needs the property it adds up",
      });
    }
    if (m.type !== 'sum' && m.property) {
      ctx.addIssue({ code: 'custom', path: ['property'], message: "only a 'sum' metric takes a property" });
    }
    if (m.type !== 'retention' && m.startDay !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['startDay'],
        message: "only a 'retention' metric takes startDay",
      });
    }
  });
export type MetricSpec = z.output<typeof metricSpecSchema>;

/** A metric in the config: `{ event, type, … }` or just the event's name (a conversion). */
export const launchMetricSchema = z.union([
  z
    .string()
    .min(1)
    .transform((event): MetricSpec => ({ event, type: 'conversion', properties: [] })),
  metricSpecSchema,
]);

/** The id a launch's effect names its metric by: `count:insight created`, `sum:checkout:amount`. */
export function metricId(m: MetricSpec): string {
  return m.type === 'sum' ? `sum:${m.event}:${m.property}` : `${m.type}:${m.event}`;
}

/**
 * `sextant launch add --metric`: `EVENT`, `EVENT:TYPE` or `EVENT:sum:PROPERTY` (an event name may
 * hold colons; only a known type after the last ones is read as one).
 */
export function parseMetricArg(text: string, field = '--metric'): MetricSpec {
  const parts = text.split(':');
  let m: unknown = { event: text };
  if (parts.length >= 3 && parts.at(-2) === 'sum') {
    m = { event: parts.slice(0, -2).join(':'), type: 'sum', property: parts.at(-1) };
  } else if (parts.length >= 2 && (METRIC_TYPES as readonly string[]).includes(parts.at(-1)!)) {
    m = { event: parts.slice(0, -1).join(':'), type: parts.at(-1) };
  }
  const r = metricSpecSchema.safeParse(m);
  if (!r.success) throw new InputError(`'${text}': ${r.error.issues[0]!.message}`, { field });
  return r.data;
}

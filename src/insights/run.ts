/**
 * `runInsight`: one ad-hoc insight (SPEC §6), for `sextant query` and `POST /api/query`.
 * Each kind is a runner in the registry below with the same shape — validate the spec (zod, an
 * unknown key or bad value is an `InputError` naming the field) → build one SQL query against
 * `engine.dialect` → a pure `format(rows)`. Semantics: docs/insights.md.
 */
import { InputError } from '../errors.js';
import type { Engine } from '../store/engine.js';
import { experiment, type ExperimentResult, type ExperimentSpec } from './experiment.js';
import { funnel, type FunnelResult, type FunnelSpec } from './funnel.js';
import { lifecycle, type LifecycleResult, type LifecycleSpec } from './lifecycle.js';
import { retention, type RetentionResult, type RetentionSpec } from './retention.js';
import { stickiness, type StickinessResult, type StickinessSpec } from './stickiness.js';
import { trends, type TrendsResult, type TrendsSpec } from './trends.js';

export interface InsightResults {
  funnel: FunnelResult;
  retention: RetentionResult;
  lifecycle: LifecycleResult;
  stickiness: StickinessResult;
  trends: TrendsResult;
  experiment: ExperimentResult;
}
export type InsightKind = keyof InsightResults;
export type InsightResult = InsightResults[InsightKind];

type Runner<K extends InsightKind> = (engine: Engine, spec: unknown) => Promise<InsightResults[K]>;

// Every runner validates `spec` itself before any SQL, so handing it the unchecked value is safe.
export const insightRunners: { readonly [K in InsightKind]: Runner<K> } = {
  funnel: (e, s) => funnel(e, s as FunnelSpec),
  retention: (e, s) => retention(e, s as RetentionSpec),
  lifecycle: (e, s) => lifecycle(e, s as LifecycleSpec),
  stickiness: (e, s) => stickiness(e, s as StickinessSpec),
  trends: (e, s) => trends(e, s as TrendsSpec),
  experiment: (e, s) => experiment(e, s as ExperimentSpec),
};

export const INSIGHT_KINDS = Object.keys(insightRunners) as InsightKind[];

export function isInsightKind(k: unknown): k is InsightKind {
  return typeof k === 'string' && Object.hasOwn(insightRunners, k);
}

export interface RunInsightOptions {
  /** The kind when the spec does not say (the CLI's `query <kind>`); must agree when both do. */
  kind?: InsightKind;
}

export async function runInsight(
  engine: Engine,
  spec: unknown,
  opts: RunInsightOptions = {},
): Promise<InsightResult> {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new InputError('the spec must be a JSON object', { field: '(spec)' });
  }
  const given = (spec as { kind?: unknown }).kind;
  const kind = given ?? opts.kind;
  if (!isInsightKind(kind)) {
    throw new InputError(`want one of ${INSIGHT_KINDS.join(', ')}`, { field: 'kind' });
  }
  if (opts.kind && opts.kind !== kind) {
    throw new InputError(`'${String(given)}' does not match the query kind '${opts.kind}'`, {
      field: 'kind',
    });
  }
  return insightRunners[kind](engine, { ...spec, kind });
}

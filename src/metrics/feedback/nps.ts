/**
 * NPS per month (docs/metrics.md#feedback). Responses come from two places:
 *   - `survey sent` events whose `$survey_response` is a number, for NPS surveys only: a survey
 *     (`$survey_id`) counts when every response it ever got is a whole number 0–10 and at least
 *     one is 0 or above 5 — a 1–5 rating or a free-text survey never qualifies;
 *   - feedback rows of kind `nps` (the importer guarantees a whole score 0–10).
 * One person's latest answer in a month counts once: the person is the event's `person_id`, or
 * for a feedback row the person its `distinct_id` resolves to, else its `distinct_id`, else its
 * email, else the row itself. Promoters answer 9–10, passives 7–8, detractors 0–6;
 * NPS = 100 · (promoters − detractors) / responses, with its normal 95% interval
 * (src/analyses/stats/nps.ts).
 */
import { monthEnd, monthStart, type Month } from '../../domain/month.js';
import { raw, sql, type Sql } from '../../store/sql.js';
import type { MetricContext } from '../types.js';
import { sqlFeedbackInProduct } from './product.js';
import { eventsWithPersons } from '../../store/events.js';
import { sharedRelation } from '../../store/build-scope.js';
import type { Engine } from '../../store/engine.js';

export const SURVEY_EVENT = 'survey sent';

/**
 * Every `survey sent` event (identity-resolved, store/events.ts) with what NPS reads of it:
 * `person_id`, `organization`, `timestamp`, `uuid`, `score` (`$survey_response` as a number, else
 * null) and `survey` (`$survey_id`, '' when none). A few thousand rows, but reading their JSON
 * `properties` touches every stretch of the events (~0.5 CPU-s at 10M events): in a review build it
 * is read once, as a table every NPS query of the build reads (the NPS metric, the customer and ICP
 * dives; store/build-scope.ts), elsewhere it is a subquery.
 */
export function surveyEvents(engine: Engine, alias = 'se'): Promise<Sql> {
  const d = engine.dialect;
  return sharedRelation(
    engine,
    'survey events',
    sql`
      SELECT person_id, organization, timestamp, uuid,
        ${d.sqlJsonNumber(sql`properties`, ['$survey_response'])} AS score,
        coalesce(${d.sqlJsonString(sql`properties`, ['$survey_id'])}, '') AS survey
      FROM ${eventsWithPersons()} WHERE event = ${SURVEY_EVENT}`,
    alias,
  );
}

export interface NpsMonth {
  m: Month;
  responses: number;
  promoters: number;
  passives: number;
  detractors: number;
}

async function npsAnswers(ctx: MetricContext): Promise<Sql> {
  const d = ctx.engine.dialect;
  const score = raw('score');
  const whole = sql`(${score} IS NOT NULL AND ${score} = floor(${score}) AND ${score} BETWEEN 0 AND 10)`;
  const one = raw('1');
  const zero = raw('0');
  // The `survey sent` events are read once (their JSON `properties` is the costly column to
  // load), then both the survey test and the answers read that small set.
  return sql`
    ${d.sqlMaterialized('survey_events', sql`SELECT person_id, timestamp, uuid, score, survey FROM ${await surveyEvents(ctx.engine)}`)},
    nps_surveys AS (
      SELECT survey FROM survey_events
      GROUP BY 1
      HAVING sum(${d.sqlIf(whole, zero, one)}) = 0
         AND sum(${d.sqlIf(sql`${score} = 0 OR ${score} > 5`, one, zero)}) > 0
    ),
    ${d.sqlMaterialized(
      'answers',
      sql`
      SELECT person_id AS person, timestamp AS answered_at, score AS score, uuid AS tiebreak
      FROM survey_events
      WHERE survey IN (SELECT survey FROM nps_surveys)
      UNION ALL
      SELECT coalesce(p.person_id, f.distinct_id, 'email:' || f.email, 'feedback:' || f.id) AS person,
             f.created_at AS answered_at, f.score AS score, f.id AS tiebreak
      FROM feedback f LEFT JOIN person_distinct_ids p ON p.distinct_id = f.distinct_id
      WHERE f.kind = 'nps' AND f.score IS NOT NULL AND ${sqlFeedbackInProduct(ctx, raw('f.tags'))}`,
    )}`;
}

/** One person's answer counted in a month's NPS. */
export interface NpsRespondent {
  person: string;
  score: number;
  answeredAt: string;
}

/** The answers behind `nps`/`nps_responses` of `month`: each person's latest, lowest score first. */
export async function npsRespondents(ctx: MetricContext, month: Month): Promise<NpsRespondent[]> {
  const rows = await ctx.engine.query<{ person: string; score: number; answered_at: string }>(sql`
    WITH ${await npsAnswers(ctx)},
    ranked AS (
      SELECT person, score, answered_at,
             row_number() OVER (PARTITION BY person ORDER BY answered_at DESC, tiebreak DESC) AS rn
      FROM answers WHERE answered_at >= ${monthStart(month)} AND answered_at < ${monthEnd(month)}
    )
    SELECT person, score, answered_at FROM ranked WHERE rn = 1 ORDER BY score, person`);
  return rows.map((r) => ({ person: r.person, score: Number(r.score), answeredAt: r.answered_at }));
}

/** Whether the store holds any NPS answer at all (otherwise NPS metrics are null throughout). */
export async function hasNpsData(ctx: MetricContext): Promise<boolean> {
  return (await npsFacts(ctx)).any;
}

export async function npsByMonth(ctx: MetricContext): Promise<Map<Month, NpsMonth>> {
  return (await npsFacts(ctx)).byMonth;
}

/**
 * In one query: whether the store holds any NPS answer at all, and the counts of each month of
 * `ctx.months` (a month without answers is absent). The total over all time comes back as an
 * extra row whose month is ''.
 */
export async function npsFacts(ctx: MetricContext): Promise<{ any: boolean; byMonth: Map<Month, NpsMonth> }> {
  const d = ctx.engine.dialect;
  const from = monthStart(ctx.months[0] as Month);
  const to = monthEnd(ctx.months[ctx.months.length - 1] as Month);
  const count = (cond: Sql): Sql => sql`CAST(sum(${d.sqlIf(cond, raw('1'), raw('0'))}) AS BIGINT)`;
  const rows = await ctx.engine.query<NpsMonth>(sql`
    WITH ${await npsAnswers(ctx)},
    ranked AS (
      SELECT ${d.sqlMonthKey(sql`answered_at`)} AS m, score,
             row_number() OVER (PARTITION BY person, ${d.sqlMonthKey(sql`answered_at`)} ORDER BY answered_at DESC, tiebreak DESC) AS rn
      FROM answers WHERE answered_at >= ${from} AND answered_at < ${to}
    )
    SELECT m, CAST(count(*) AS BIGINT) AS responses,
           ${count(sql`score >= 9`)} AS promoters,
           ${count(sql`score >= 7 AND score < 9`)} AS passives,
           ${count(sql`score < 7`)} AS detractors
    FROM ranked WHERE rn = 1 GROUP BY m
    UNION ALL
    SELECT '' AS m, CAST(count(*) AS BIGINT) AS responses, CAST(0 AS BIGINT) AS promoters,
           CAST(0 AS BIGINT) AS passives, CAST(0 AS BIGINT) AS detractors
    FROM answers`);
  const total = rows.find((r) => r.m === '');
  return {
    any: Number(total?.responses ?? 0) > 0,
    byMonth: new Map(
      rows
        .filter((r) => r.m !== '')
        .map((r) => [
          r.m,
          {
            m: r.m,
            responses: Number(r.responses),
            promoters: Number(r.promoters),
            passives: Number(r.passives),
            detractors: Number(r.detractors),
          },
        ]),
    ),
  };
}

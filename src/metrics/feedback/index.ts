/**
 * The feedback metric family (SPEC §5, issue 5): NPS with its interval and answer counts,
 * tickets (opened, open at month end, per organization), feature requests with their themes,
 * interviews — per month, for one product. Definitions: docs/metrics.md#feedback.
 *
 * Null versus 0: a metric whose source the store has never held (no NPS answer at all, no ticket
 * at all, …) is null in every month — we cannot tell "none" from "not recorded". Otherwise months
 * inside the store's data range (events and feedback together) count 0 when empty, months
 * outside it are null, and `nps` is null in a month without answers.
 */
import type { Month } from '../../domain/month.js';
import { npsWithInterval, NPS_MIN_RESPONSES } from '../../analyses/stats/nps.js';
import { raw } from '../../store/sql.js';
import type { MetricContext, MetricFamily, MetricValues } from '../types.js';
import { monthRange, series, unionRange, type MetricMeta, type MonthRange } from '../usage/series.js';
import { kindCounts, requestThemes, ticketsByOrganization, ticketsOpenAtMonthEnd } from './counts.js';
import { npsFacts, type NpsMonth } from './nps.js';

const NO_DATA: MonthRange = { first: null, last: null };

const feedback = (id: string, label: string, unit: MetricMeta['unit'], description: string): MetricMeta => ({
  id,
  group: 'feedback',
  label,
  unit,
  description,
});

/** NPS value and its 95% interval for one month's counts. */
export function npsDetail(c: NpsMonth): { value: number | null; detail: Record<string, unknown> } {
  const r = npsWithInterval(c, { minResponses: 1 });
  if (r.notEnoughData) return { value: null, detail: { responses: 0 } };
  const base = { responses: r.n, promoters: r.promoters, passives: r.passives, detractors: r.detractors };
  if (r.n < NPS_MIN_RESPONSES) {
    return {
      value: r.nps,
      detail: { ...base, interval: null, note: `fewer than ${NPS_MIN_RESPONSES} answers: no interval` },
    };
  }
  return {
    value: r.nps,
    detail: {
      ...base,
      interval: { low: r.interval.low, high: r.interval.high, level: r.interval.level },
      standardError: r.standardError,
    },
  };
}

export async function computeFeedback(ctx: MetricContext): Promise<MetricValues[]> {
  if (ctx.months.length === 0) return [];
  const time = <T>(label: string, fn: () => Promise<T>): Promise<T> =>
    ctx.timings ? ctx.timings.time(`  feedback ${label}`, fn) : fn();
  const range = unionRange(
    await time('event range', () => monthRange(ctx.engine, raw('events'), raw('timestamp'))),
    await time('feedback range', () => monthRange(ctx.engine, raw('feedback'), raw('created_at'))),
  );
  const months = ctx.months;
  const { any: anyNps, byMonth: nps } = await time('nps', () => npsFacts(ctx));
  const npsRange = anyNps ? range : NO_DATA;
  const { counts, kindsPresent } = await time('kind counts', () => kindCounts(ctx));
  const byOrg = await time('tickets by organization', () => ticketsByOrganization(ctx));
  const open = await time('open tickets', () => ticketsOpenAtMonthEnd(ctx));
  const themes = await time('request themes', () => requestThemes(ctx));
  const kindRange = (kind: string): MonthRange => (kindsPresent.has(kind) ? range : NO_DATA);
  const npsAt = (m: Month): NpsMonth =>
    nps.get(m) ?? { m, responses: 0, promoters: 0, passives: 0, detractors: 0 };

  return [
    series(
      feedback(
        'nps',
        'NPS',
        'nps',
        'Promoters (9–10) minus detractors (0–6), % of answers; one latest answer per person.',
      ),
      months,
      npsRange,
      (m) => npsDetail(npsAt(m)).value,
      (m) => npsDetail(npsAt(m)).detail,
    ),
    series(
      feedback(
        'nps_responses',
        'NPS answers',
        'count',
        'People answering an NPS survey (latest answer each).',
      ),
      months,
      npsRange,
      (m) => npsAt(m).responses,
    ),
    series(
      feedback('nps_promoters', 'NPS promoters', 'count', 'Answers 9–10.'),
      months,
      npsRange,
      (m) => npsAt(m).promoters,
    ),
    series(
      feedback('nps_passives', 'NPS passives', 'count', 'Answers 7–8.'),
      months,
      npsRange,
      (m) => npsAt(m).passives,
    ),
    series(
      feedback('nps_detractors', 'NPS detractors', 'count', 'Answers 0–6.'),
      months,
      npsRange,
      (m) => npsAt(m).detractors,
    ),
    series(
      feedback('tickets', 'Support tickets', 'count', 'Tickets opened in the month.'),
      months,
      kindRange('ticket'),
      (m) => counts.get(`ticket ${m}`) ?? 0,
      (m) => ({ byOrganization: byOrg.get(m) ?? {} }),
    ),
    series(
      feedback('tickets_open', 'Open tickets', 'count', 'Tickets open at the end of the month.'),
      months,
      kindRange('ticket'),
      (m) => open.get(m) ?? 0,
    ),
    series(
      feedback('feature_requests', 'Feature requests', 'count', 'Feature requests received in the month.'),
      months,
      kindRange('request'),
      (m) => counts.get(`request ${m}`) ?? 0,
      (m) => ({ themes: themes.get(m) ?? [] }),
    ),
    series(
      feedback('interviews', 'Interviews', 'count', 'Customer interviews recorded in the month.'),
      months,
      kindRange('interview'),
      (m) => counts.get(`interview ${m}`) ?? 0,
    ),
  ];
}

export const feedbackFamily: MetricFamily = { id: 'feedback', compute: computeFeedback };

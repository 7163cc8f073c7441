/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   this test breaks review.json in arbitrary places on purpose: it works on untyped JSON. */
import { describe, expect, it } from 'vitest';
import type { Review } from '../domain/review.js';
import { renderJson } from './json.js';
import { REQUIRED_METRICS, sampleReview } from '../../test/helpers/sample-review.js';
import { validateReview } from './schema.js';

/** A fresh sample as plain JSON (what review.json holds), for breaking one thing at a time. */
function sample(): Record<string, any> {
  return JSON.parse(renderJson(sampleReview())) as Record<string, any>;
}

function dive(r: Record<string, any>, id: string): Record<string, any> {
  return (r.deepDives as Record<string, any>[]).find((d) => d.id === id)!;
}

function metric(r: Record<string, any>, id: string): Record<string, any> {
  return (r.metrics as Record<string, any>[]).find((m) => m.id === id)!;
}

describe('validateReview', () => {
  it('accepts a complete review, and one with no previous review and empty dives', () => {
    expect(validateReview(sampleReview())).toEqual({ ok: true, errors: [] });
    const r = sample();
    r.previous = null;
    for (const d of r.deepDives as Record<string, any>[]) {
      d.findings = [];
      for (const k of Object.keys(d.data as object)) if (Array.isArray(d.data[k])) d.data[k] = [];
    }
    dive(r, 'onboarding-funnel').data.biggestDrop = null;
    expect(validateReview(r)).toEqual({ ok: true, errors: [] });
  });

  it('requires every SPEC metric id', () => {
    for (const { id } of REQUIRED_METRICS) {
      const r = sample();
      r.metrics = (r.metrics as { id: string }[]).filter((m) => m.id !== id);
      const v = validateReview(r);
      expect(v.ok).toBe(false);
      expect(v.errors[0]).toBe(`/metrics: no item with id '${id}'`);
      // not one "must be equal to constant" per other metric: only the contains error says it
      expect(v.errors.filter((e) => e.startsWith('/metrics'))).toHaveLength(1);
    }
  });

  it('requires every SPEC deep dive with its data arrays and fields', () => {
    const fields: Record<string, Record<string, string[]>> = {
      'top-customers': { customers: ['organization', 'name', 'mrr', 'health', 'signals'] },
      'icp-vs-non-icp': { features: ['event', 'icpRate', 'nonIcpRate', 'difference', 'pValue'] },
      'churn-reasons': {
        churned: ['organization', 'mrr'],
        drivers: ['dimension', 'value', 'churnRate', 'baselineRate', 'lift', 'pValue'],
      },
      'leading-indicators': {
        indicators: [
          'event',
          'threshold',
          'windowDays',
          'outcomeDays',
          'precision',
          'recall',
          'lift',
          'score',
        ],
      },
      'onboarding-funnel': {
        steps: ['name', 'count', 'conversionFromPrevious', 'medianSecondsFromPrevious'],
      },
    };
    for (const [id, arrays] of Object.entries(fields)) {
      const gone = sample();
      gone.deepDives = (gone.deepDives as { id: string }[]).filter((d) => d.id !== id);
      expect(validateReview(gone).errors).toContain(`/deepDives: no item with id '${id}'`);
      for (const k of ['question', 'summary', 'findings', 'data']) {
        const r = sample();
        delete dive(r, id)[k];
        expect(validateReview(r).ok, `${id} without ${k}`).toBe(false);
      }
      for (const [arr, fs] of Object.entries(arrays)) {
        const notArray = sample();
        dive(notArray, id).data[arr] = { rows: [] };
        expect(validateReview(notArray).ok, `${id}.${arr} not an array`).toBe(false);
        for (const f of fs) {
          const r = sample();
          delete dive(r, id).data[arr][0][f];
          const v = validateReview(r);
          expect(v.ok, `${id}.${arr}[0] without ${f}`).toBe(false);
          expect(v.errors.join('\n')).toContain(`missing '${f}'`);
        }
      }
    }
    const noDrop = sample();
    delete dive(noDrop, 'onboarding-funnel').data.biggestDrop;
    expect(validateReview(noDrop).errors.join()).toContain("missing 'biggestDrop'");
  });

  it('rejects each other violation the contract checker reports', () => {
    const cases: [string, (r: Record<string, any>) => void, string][] = [
      ['a missing top-level key', (r) => delete r.highlights, "/: missing 'highlights'"],
      ['a month not YYYY-MM', (r) => (r.month = '2026-13'), '/month'],
      ['a metric without a field', (r) => delete metric(r, 'mrr').change, "/metrics/0: missing 'change'"],
      ['a bad group', (r) => (metric(r, 'mrr').group = 'money'), '/metrics/0/group'],
      ['12 months in a series', (r) => metric(r, 'arpa').series.shift(), '/metrics/12/series'],
      [
        '13 months not ending at the month',
        (r) => (metric(r, 'arpa').series[12].month = '2027-01'),
        "metric 'arpa' months are not the 13 ending at 2026-10",
      ],
      ['a string value', (r) => (metric(r, 'mrr').series[3].value = '12'), '/metrics/0/series/3/value'],
      ['a non-finite value', (r) => (metric(r, 'mrr').series[3].value = Infinity), 'not finite'],
      ['NPS above 100', (r) => (metric(r, 'nps').series[5].value = 101), '/metrics/18/series/5/value'],
      ['NPS below -100', (r) => (metric(r, 'nps').series[5].value = -100.5), '/metrics/18/series/5/value'],
      ['an anomaly without a field', (r) => delete r.anomalies[0].explanation, "missing 'explanation'"],
      ['an anomaly direction', (r) => (r.anomalies[0].direction = 'sideways'), '/anomalies/0/direction'],
      ['an anomaly of an unknown metric', (r) => (r.anomalies[0].metricId = 'gmv'), "unknown metric 'gmv'"],
      [
        'a health outside the enum',
        (r) => (dive(r, 'top-customers').data.customers[0].health = 'great'),
        '/deepDives/0/data/customers/0/health',
      ],
      ['highlights not an array', (r) => (r.highlights = {}), '/highlights'],
      ['a count that is not an integer', (r) => (metric(r, 'tickets').series[0].value = 1.5), '/metrics/20'],
      ['a duplicate metric id', (r) => r.metrics.push(metric(r, 'mrr')), "duplicate metric id 'mrr'"],
      ['a bad decision outcome', (r) => (r.previous.decision.outcome = 'pivot'), '/previous'],
      ['a review that is not an object', () => undefined, ''],
    ];
    for (const [what, breakIt, message] of cases) {
      const r = sample();
      breakIt(r);
      const v = validateReview(what.startsWith('a review that') ? [r] : r);
      expect(v.ok, what).toBe(false);
      expect(v.errors.join('\n'), what).toContain(message);
    }
  });

  it('accepts metric ids holding event names (key actions) and extra metrics and dives', () => {
    const r = sample();
    r.metrics.push({ ...metric(r, 'tickets'), id: 'key_action:insight created', label: 'insight created' });
    r.deepDives.push({
      id: 'retention',
      question: 'q',
      summary: 's',
      method: 'm',
      findings: [],
      data: { x: 1 },
    });
    expect(validateReview(r)).toEqual({ ok: true, errors: [] });
  });

  it('keeps Review and the schema in step: every key of the typed sample is allowed and required ones hold', () => {
    const r: Review = sampleReview({ month: '2024-01' });
    expect(r.metrics[0]?.series[0]?.month).toBe('2023-01');
    expect(validateReview(r).ok).toBe(true);
  });
});

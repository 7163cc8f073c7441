import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { INSIGHT_KINDS, runInsight } from './run.js';
import { engineWith } from '../../test/helpers/insight-events.js';

let e: DuckDbEngine;
beforeAll(async () => {
  e = await engineWith([
    { event: 'a', person: 'p1', at: '2024-01-01T10:00:00' },
    { event: 'b', person: 'p1', at: '2024-01-01T10:01:00' },
  ]);
});
afterAll(() => e.close());

describe('runInsight', () => {
  it('dispatches every kind through the registry', async () => {
    expect(INSIGHT_KINDS).toEqual(['funnel', 'retention', 'lifecycle', 'stickiness', 'trends', 'experiment']);
    const range = { dateFrom: '2024-01-01', dateTo: '2024-01-01' };
    expect(await runInsight(e, { kind: 'funnel', ...range, steps: ['a', 'b'] })).toMatchObject({
      steps: [{ count: 1 }, { count: 1, medianSecondsFromPrevious: 60 }],
    });
    expect(
      await runInsight(
        e,
        { dateTo: '2024-01-01', targetEvent: 'a', totalIntervals: 1 },
        { kind: 'retention' },
      ),
    ).toEqual({
      cohorts: [{ date: '2024-01-01', size: 1, values: [1] }],
    });
    expect(await runInsight(e, { kind: 'lifecycle', ...range, event: 'a' })).toEqual({
      intervals: [{ date: '2024-01-01', new: 1, returning: 0, resurrecting: 0, dormant: 0 }],
    });
    expect(await runInsight(e, { kind: 'stickiness', ...range, event: 'b' })).toEqual({
      counts: [{ days: 1, persons: 1 }],
    });
    expect(await runInsight(e, { kind: 'trends', ...range, events: ['a'], math: 'dau' })).toEqual({
      series: [{ event: 'a', points: [{ date: '2024-01-01', value: 1 }] }],
    });
  });

  it('answers an empty range with zeros and nulls, never an error', async () => {
    const range = { dateFrom: '2023-06-01', dateTo: '2023-06-02' };
    expect(await runInsight(e, { kind: 'funnel', ...range, steps: ['a', 'b'] })).toEqual({
      steps: [
        {
          name: 'a',
          count: 0,
          conversionFromPrevious: null,
          conversionFromFirst: null,
          medianSecondsFromPrevious: null,
          averageSecondsFromPrevious: null,
        },
        {
          name: 'b',
          count: 0,
          conversionFromPrevious: null,
          conversionFromFirst: null,
          medianSecondsFromPrevious: null,
          averageSecondsFromPrevious: null,
        },
      ],
    });
    expect(
      await runInsight(e, { kind: 'funnel', ...range, steps: ['a'], breakdown: { property: 'x' } }),
    ).toEqual({
      breakdowns: [],
    });
    expect(await runInsight(e, { kind: 'stickiness', ...range, event: 'a' })).toEqual({
      counts: [
        { days: 1, persons: 0 },
        { days: 2, persons: 0 },
      ],
    });
  });

  it('names the field when the kind is missing, unknown or contradicts the command', async () => {
    await expect(runInsight(e, { dateTo: '2024-01-01' })).rejects.toThrow(/field 'kind'/);
    await expect(runInsight(e, { kind: 'paths' })).rejects.toThrow(/field 'kind'/);
    await expect(runInsight(e, { kind: 'trends' }, { kind: 'funnel' })).rejects.toThrow(
      /field 'kind'.*does not match/,
    );
    await expect(runInsight(e, [1, 2])).rejects.toThrow(/JSON object/);
    await expect(
      runInsight(e, { kind: 'trends', dateFrom: '2024-01-01', dateTo: '2024-01-01', events: [] }),
    ).rejects.toThrow(/field 'events'/);
    await expect(
      runInsight(e, {
        kind: 'funnel',
        dateFrom: '2024-01-01',
        dateTo: '2024-01-01',
        steps: [{ event: 'a', propertys: [] }],
      }),
    ).rejects.toThrow(/field 'steps\.0/);
  });
});

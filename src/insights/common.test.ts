import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { sql } from '../store/sql.js';
import { buckets, dateRange, dayKey, intervalNumber, intervalStart, truncate } from './common.js';

describe('intervals', () => {
  it('numbers intervals the same in SQL and in JS, and maps numbers back to their start', async () => {
    const e = await DuckDbEngine.open(':memory:');
    const instants = [
      '1969-12-31T23:59:59Z',
      '2024-01-06T23:59:59Z',
      '2024-01-07T00:00:00Z',
      '2024-01-08T00:00:00Z',
      '2024-02-29T12:00:00Z',
      '2024-12-31T23:59:59Z',
    ];
    for (const at of instants) {
      for (const [unit, weekStart] of [
        ['day', 'sunday'],
        ['week', 'sunday'],
        ['week', 'monday'],
        ['month', 'sunday'],
      ] as const) {
        const d = new Date(at);
        const [row] = await e.query<{ n: number }>(
          sql`SELECT ${e.dialect.sqlIntervalNumber(unit, sql`CAST(${at} AS TIMESTAMPTZ)`, weekStart)} AS n`,
        );
        expect(row?.n, `${at} ${unit} ${weekStart}`).toBe(intervalNumber(d, unit, weekStart));
        expect(intervalStart(intervalNumber(d, unit, weekStart), unit, weekStart)).toEqual(
          truncate(d, unit, weekStart),
        );
      }
    }
    await e.close();
  });

  it('truncates weeks to sunday or monday', () => {
    const sat = new Date('2024-01-06T12:00:00Z'); // a Saturday
    expect(dayKey(truncate(sat, 'week', 'sunday'))).toBe('2023-12-31');
    expect(dayKey(truncate(sat, 'week', 'monday'))).toBe('2024-01-01');
    expect(dayKey(truncate(sat, 'month'))).toBe('2024-01-01');
  });

  it('reads dateTo as a whole day when it is a date, inclusive when a timestamp', () => {
    expect(dateRange('2024-01-01', '2024-01-31').to.toISOString()).toBe('2024-02-01T00:00:00.000Z');
    expect(dateRange('2024-01-01', '2024-01-31 10:00:00').to.toISOString()).toBe('2024-01-31T10:00:00.001Z');
    expect(buckets(dateRange('2024-01-30', '2024-02-01'), 'month').map(dayKey)).toEqual([
      '2024-01-01',
      '2024-02-01',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  addMonths,
  lastCompleteMonth,
  monthEnd,
  monthOf,
  monthStart,
  monthsBetween,
  monthsEndingAt,
} from './month.js';

describe('month arithmetic', () => {
  it('crosses year boundaries', () => {
    expect(addMonths('2025-01', -1)).toBe('2024-12');
    expect(addMonths('2024-12', 1)).toBe('2025-01');
    expect(addMonths('2024-03', -14)).toBe('2023-01');
    expect(monthsBetween('2024-11', '2025-02')).toBe(3);
  });
  it('gives 13 months ending at a month, oldest first', () => {
    const ms = monthsEndingAt('2025-01', 13);
    expect(ms).toHaveLength(13);
    expect(ms[0]).toBe('2024-01');
    expect(ms[12]).toBe('2025-01');
  });
  it('months are half-open UTC intervals', () => {
    expect(monthStart('2024-02').toISOString()).toBe('2024-02-01T00:00:00.000Z');
    expect(monthEnd('2024-02').toISOString()).toBe('2024-03-01T00:00:00.000Z');
    // 23:30 on Jan 31 at UTC-05:00 is Feb 1 in UTC.
    expect(monthOf(new Date('2024-01-31T23:30:00-05:00'))).toBe('2024-02');
    expect(lastCompleteMonth(new Date('2026-11-23T00:00:00Z'))).toBe('2026-10');
  });
  it('rejects non-months', () => {
    expect(() => monthStart('2024-13')).toThrow('not a month');
  });
});

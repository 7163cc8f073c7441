import { describe, expect, it } from 'vitest';
import { changeBetween, formatChange, formatDataValue, formatValue } from './format.js';

describe('formatValue', () => {
  it('formats each unit, and null as a dash', () => {
    expect(formatValue(53149.36, 'currency', 'USD')).toBe('USD 53,149.36');
    expect(formatValue(53149.36, 'currency', 'EUR', { compact: true })).toBe('53.1K');
    expect(formatValue(-12.5, 'currency', 'USD')).toBe('−USD 12.50');
    expect(formatValue(0.052, 'ratio', 'USD')).toBe('5.2%'); // 0.052 × 100 = 5.2
    expect(formatValue(1234, 'count', 'USD')).toBe('1,234');
    expect(formatValue(123456, 'count', 'USD', { compact: true })).toBe('123.5K');
    expect(formatValue(-12, 'nps', 'USD')).toBe('−12.0');
    expect(formatValue(90, 'seconds', 'USD')).toBe('1.5 min'); // 90 / 60
    expect(formatValue(null, 'count', 'USD')).toBe('n/a');
    expect(formatValue(Number.NaN, 'ratio', 'USD')).toBe('n/a');
  });
});

describe('formatChange', () => {
  it('shows relative changes as percents and absolute ones in points', () => {
    expect(formatChange(0.125, 'relative', 'currency')).toBe('+12.5%');
    expect(formatChange(-0.013, 'absolute', 'ratio')).toBe('−1.3 pp'); // −0.013 × 100
    expect(formatChange(4, 'absolute', 'nps')).toBe('+4.0 pts');
    expect(formatChange(-0.0004, 'absolute', 'ratio')).toBe('0.0 pp'); // rounds to zero: no sign
    expect(formatChange(null, 'relative', 'count')).toBe('n/a');
  });
});

describe('formatDataValue', () => {
  it('reads the unit from the field name', () => {
    expect(formatDataValue('churnRate', 0.12, 'USD')).toBe('12.0%');
    expect(formatDataValue('pValue', 0.0004, 'USD')).toBe('<0.001');
    expect(formatDataValue('pValue', 0.002, 'USD')).toBe('0.002');
    expect(formatDataValue('mrr', 1800.5, 'USD')).toBe('USD 1,800.50');
    expect(formatDataValue('medianSecondsFromPrevious', 7200, 'USD')).toBe('2.0 h'); // 7200 / 3600
    expect(formatDataValue('lift', 3, 'USD')).toBe('3.00');
    expect(formatDataValue('generatedAt', 5, 'USD')).toBe('5'); // "generated" holds "rate" but is no rate
    expect(formatDataValue('count', 1000, 'USD')).toBe('1,000');
    expect(formatDataValue('x', null, 'USD')).toBe('n/a');
    // nested: each value by its own key; 30 / 44 = 0.682 → 68.2%
    expect(formatDataValue('icp', { using: 30, of: 44, rate: 30 / 44, pValue: 0.01 }, 'USD')).toBe(
      'using 30, of 44, rate 68.2%, p value 0.01',
    );
    expect(formatDataValue('churnRate', [0.1, 0.25], 'USD')).toBe('[10.0%, 25.0%]');
    expect(formatDataValue('excludedEvents', [], 'USD')).toBe('none');
  });
});

describe('changeBetween', () => {
  it('states a change since the last review the way the metric states its own', () => {
    expect(changeBetween(410, 452, 'relative')).toBeCloseTo(0.10244, 5); // (452 − 410) / 410
    expect(changeBetween(0.05, 0.04, 'absolute')).toBeCloseTo(-0.01, 10);
    expect(changeBetween(0, 5, 'relative')).toBeNull();
    expect(changeBetween(null, 5, 'absolute')).toBeNull();
  });
});

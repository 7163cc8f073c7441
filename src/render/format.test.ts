import { describe, expect, it } from 'vitest';
import {
  changeBetween,
  formatChange,
  formatDataValue,
  formatMetricChange,
  formatMoney,
  formatValue,
} from './format.js';

describe('formatValue', () => {
  it('formats each unit, and null as n/a', () => {
    expect(formatValue(53149.36, 'currency', 'USD')).toBe('$53,149.36');
    expect(formatValue(53149.36, 'currency', 'EUR', { compact: true })).toBe('€53.1K');
    expect(formatValue(-12.5, 'currency', 'USD')).toBe('−$12.50');
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
    expect(formatDataValue('mrr', 1800.5, 'USD')).toBe('$1,800.50');
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

describe('formatMoney', () => {
  it("is one format: the currency's symbol, grouping, its minor digits; compact for narrow places", () => {
    expect(formatMoney(7253.28, 'USD')).toBe('$7,253.28');
    expect(formatMoney(-902.4, 'USD')).toBe('−$902.40');
    expect(formatMoney(301.2, 'USD', { compact: true })).toBe('$301'); // not "$301.2"
    expect(formatMoney(138973.76, 'USD', { compact: true })).toBe('$139K');
    expect(formatMoney(1802.4, 'GBP', { compact: true })).toBe('£1.8K');
    expect(formatMoney(1234, 'JPY')).toBe('¥1,234'); // no minor unit
    expect(formatMoney(-0.001, 'EUR')).toBe('€0.00'); // rounds to zero: no sign
  });
});

describe('formatMetricChange', () => {
  const m = (previous: number, current: number) => ({
    previous,
    current,
    change: previous === 0 ? null : (current - previous) / Math.abs(previous),
    changeKind: 'relative' as const,
    unit: 'currency' as const,
  });
  it('states a money change across zero as money, not as a percent', () => {
    // net new MRR 663.70 → −902.40: (−902.4 − 663.7) / 663.7 = −236% says nothing; the difference is −1,566.10
    expect(formatMetricChange(m(663.7, -902.4), 'USD')).toBe('−$1,566.10');
    expect(formatMetricChange(m(0, 900), 'USD')).toBe('+$900.00');
    expect(formatMetricChange(m(1000, 1100), 'USD')).toBe('+10.0%');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clockSkewSchema, commonTimestampMicros, EVENT_RULES, reasonText, sentAtSchema } from './rules.js';

describe('the rules of an event record', () => {
  it('are the table of reasons in docs/ingest.md, in the order checked', () => {
    const doc = readFileSync('docs/ingest.md', 'utf8');
    const section = doc.slice(doc.indexOf('## Bad records'), doc.indexOf('## Identity of a record'));
    const rows = [...section.matchAll(/^\|\s*(`[^`]+`)?\s*\|\s*`([^`]+)`\s*\|$/gm)].map((m) => ({
      field: m[1] ? m[1].slice(1, -1) : null,
      reason: m[2],
    }));
    expect(rows).toEqual(Object.values(EVENT_RULES).map(({ field, reason }) => ({ field, reason })));
  });

  it('parse a clock-skew allowance and a sent_at', () => {
    expect(clockSkewSchema.parse('90s')).toBe(90_000);
    expect(clockSkewSchema.parse('2h')).toBe(7_200_000);
    expect(clockSkewSchema.parse(0)).toBe(0);
    expect(clockSkewSchema.safeParse('8d').success).toBe(false);
    expect(clockSkewSchema.safeParse('-1').success).toBe(false);
    expect(clockSkewSchema.safeParse('soon').success).toBe(false);
    expect(sentAtSchema.parse('2024-04-30T12:00:00.000Z')).toEqual(new Date('2024-04-30T12:00:00.000Z'));
    expect(sentAtSchema.parse(1714478400000)).toEqual(new Date('2024-04-30T12:00:00.000Z'));
    expect(sentAtSchema.safeParse('2025-02-30T00:00:00Z').error?.issues[0]?.message).toBe(
      "not a calendar date: '2025-02-30T00:00:00Z'",
    );
    expect(sentAtSchema.safeParse('0001-01-01T00:00:00Z').error?.issues[0]?.message).toMatch(/out of range/);
    expect(reasonText('timestampNotDate', '2025-02-30')).toBe('not a calendar date: 2025-02-30');
    expect(reasonText('notUtf8')).toBe('not valid UTF-8');
  });

  it('read `Date.toISOString` text by character codes as the general reading does', () => {
    // A leading space takes the text past the 24-character fast path to the regular expression.
    const texts = [
      '2024-05-01T10:00:00.123Z',
      '1970-01-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2023-02-29T00:00:00.000Z',
      '1900-02-29T00:00:00.000Z',
      '2000-02-29T00:00:00.000Z',
      '2024-04-31T00:00:00.000Z',
      '2024-12-31T00:00:00.000Z',
      '2024-13-01T00:00:00.000Z',
      '2024-00-10T00:00:00.000Z',
      '2024-01-00T00:00:00.000Z',
      '2024-01-01T24:00:00.000Z',
      '2024-01-01T23:60:00.000Z',
      '2024-01-01T23:00:60.000Z',
      '0099-01-01T00:00:00.000Z',
      '0100-03-01T12:00:00.500Z',
      '0000-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '2024-0a-01T00:00:00.000Z',
      '2024-01-01T00:00:00.00aZ',
      '2024-01-01 00:00:00.000Z',
      '2024-01-01T00:00:00.000+',
    ];
    for (const t of texts) {
      expect(t).toHaveLength(24);
      expect([t, commonTimestampMicros(t)]).toEqual([t, commonTimestampMicros(' ' + t)]);
    }
    expect(commonTimestampMicros('2024-05-01T10:00:00.123Z')).toBe(
      Date.parse('2024-05-01T10:00:00.123Z') * 1000,
    );
    expect(commonTimestampMicros('2023-02-29T00:00:00.000Z')).toBeUndefined();
    expect(commonTimestampMicros('0099-01-01T00:00:00.000Z')).toBe(
      new Date('0099-01-01T00:00:00Z').getTime() * 1000,
    );
  });
});

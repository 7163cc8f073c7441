import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTimestamp, clockSkewSchema, EVENT_RULES, reasonText, sentAtSchema } from './rules.js';

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

  it('read a timestamp as the importer does: real dates, plausible years, the clock-skew limit', () => {
    const latest = new Date('2026-01-01T01:00:00Z');
    const ok = (t: string) => {
      const r = checkTimestamp(t, latest);
      return r.ok ? r.date.toISOString() : r.key;
    };
    expect(ok('2024-01-31T23:30:00-05:00')).toBe('2024-02-01T04:30:00.000Z');
    expect(ok('2024-02-29 10:00:00.123456+0530')).toBe('2024-02-29T04:30:00.123Z');
    expect(ok('2024-03-01')).toBe('2024-03-01T00:00:00.000Z');
    expect(ok('2025-02-30T10:00:00Z')).toBe('timestampNotDate');
    expect(ok('2025-13-01')).toBe('timestampNotDate');
    expect(ok('2025-01-01T24:00:00Z')).toBe('timestampNotIso');
    expect(ok('yesterday')).toBe('timestampNotIso');
    expect(ok('0001-01-01T00:00:00Z')).toBe('timestampTooEarly');
    expect(ok('2026-01-01T01:00:01Z')).toBe('timestampFuture');
    expect(ok('2026-01-01T01:00:00Z')).toBe('2026-01-01T01:00:00.000Z');
    expect(reasonText('timestampNotDate', '2025-02-30')).toBe('not a calendar date: 2025-02-30');
    expect(reasonText('notUtf8')).toBe('not valid UTF-8');
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
      'not a calendar date: 2025-02-30T00:00:00Z',
    );
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clockSkewSchema, EVENT_RULES, reasonText, sentAtSchema } from './rules.js';

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
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IcpCondition } from '../config/schema.js';
import { InputError } from '../errors.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw, sql } from '../store/sql.js';
import { describeIcpRule, sqlIcpRule } from './icp.js';
import { maybeTwin } from '../../test/helpers/twin.js';

const ORGS: Record<string, Record<string, unknown> | null> = {
  big: { employees: 120, industry: 'SaaS', plan: 'pro', beta: true, tags: ['Beta', 'eu'] },
  mid: { employees: '50', industry: 'fintech', plan: 'free', beta: false },
  small: { employees: 8, industry: 'agency', founded: '2021-04-01' },
  bare: {},
  none: null,
};

let e: DuckDbEngine;
beforeAll(async () => {
  e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  e = await maybeTwin(e);
  for (const [key, props] of Object.entries(ORGS)) {
    await e.exec(
      sql`INSERT INTO groups (group_type, group_key, properties) VALUES ('organization', ${key}, ${props === null ? null : JSON.stringify(props)})`,
    );
  }
});
afterAll(() => e.close());

async function icp(rule: IcpCondition[]): Promise<string[]> {
  const rows = await e.query<{ group_key: string }>(
    sql`SELECT group_key FROM groups WHERE ${sqlIcpRule(e.dialect, rule, raw('properties'))} ORDER BY group_key`,
  );
  return rows.map((r) => r.group_key);
}

describe('sqlIcpRule', () => {
  it('compares numerically when the value is a number, also for numeric text', async () => {
    // employees: big 120, mid "50", small 8 → >= 50: big, mid; < 50: small
    expect(await icp([{ property: 'employees', op: '>=', value: 50 }])).toEqual(['big', 'mid']);
    expect(await icp([{ property: 'employees', op: '>', value: 50 }])).toEqual(['big']);
    expect(await icp([{ property: 'employees', op: '<', value: 50 }])).toEqual(['small']);
    expect(await icp([{ property: 'employees', op: '<=', value: 50 }])).toEqual(['mid', 'small']);
    expect(await icp([{ property: 'employees', op: '=', value: 50 }])).toEqual(['mid']);
  });

  it('text and boolean equality; != and not in hold when the property is not set', async () => {
    expect(await icp([{ property: 'industry', op: '=', value: 'SaaS' }])).toEqual(['big']);
    expect(await icp([{ property: 'beta', op: '=', value: true }])).toEqual(['big']);
    // != agency: big, mid, and bare/none (not set) like PostHog's "is not"
    expect(await icp([{ property: 'industry', op: '!=', value: 'agency' }])).toEqual([
      'bare',
      'big',
      'mid',
      'none',
    ]);
    expect(await icp([{ property: 'industry', op: 'in', value: ['fintech', 'agency'] }])).toEqual([
      'mid',
      'small',
    ]);
    expect(await icp([{ property: 'industry', op: 'not in', value: ['fintech', 'agency'] }])).toEqual([
      'bare',
      'big',
      'none',
    ]);
    expect(await icp([{ property: 'employees', op: 'in', value: [8, 120] }])).toEqual(['big', 'small']);
  });

  it('contains is case-insensitive, also inside a list property; is set / is not set', async () => {
    expect(await icp([{ property: 'industry', op: 'contains', value: 'saas' }])).toEqual(['big']);
    expect(await icp([{ property: 'tags', op: 'contains', value: 'beta' }])).toEqual(['big']);
    expect(await icp([{ property: 'founded', op: 'is set' }])).toEqual(['small']);
    expect(await icp([{ property: 'plan', op: 'is not set' }])).toEqual(['bare', 'none', 'small']);
    // text order for a text value: founded > 2020 → small (2021-04-01)
    expect(await icp([{ property: 'founded', op: '>', value: '2020-12-31' }])).toEqual(['small']);
  });

  it('every condition must hold; an empty rule matches nothing', async () => {
    const rule: IcpCondition[] = [
      { property: 'employees', op: '>=', value: 50 },
      { property: 'plan', op: '=', value: 'pro' },
    ];
    expect(await icp(rule)).toEqual(['big']);
    expect(await icp([])).toEqual([]);
    expect(describeIcpRule(rule)).toBe('employees >= 50 and plan = pro');
  });

  it('values are parameters, and a value that does not fit its operator is an InputError naming it', () => {
    const q = sqlIcpRule(
      e.dialect,
      [{ property: 'industry', op: '=', value: "x' OR 1=1 --" }],
      raw('properties'),
    );
    expect(q.toString()).not.toContain('1=1');
    expect(() =>
      sqlIcpRule(e.dialect, [{ property: 'industry', op: 'in', value: 'saas' }], raw('p')),
    ).toThrow(InputError);
    expect(() =>
      sqlIcpRule(
        e.dialect,
        [
          { property: 'a', op: 'is set' },
          { property: 'employees', op: '>', value: [1] },
        ],
        raw('p'),
      ),
    ).toThrow(/icp\.all\[1\]\.value/);
  });
});

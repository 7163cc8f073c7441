import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw, sql } from '../store/sql.js';
import { isActivityEvent, matchesGlob, sqlActivityEvent, sqlMatchesAny } from './scope.js';
import { ALL_PRODUCTS, type ProductScope } from './types.js';

const NAMES = [
  'recording_started',
  'recording_viewed',
  '$snapshot',
  '$pageview',
  '$identify',
  'survey sent',
  '$feature_flag_called',
  'a[b]',
  'ab',
  'recordings',
  'Recording_started',
];

let e: DuckDbEngine;
beforeAll(async () => {
  e = await DuckDbEngine.open(':memory:');
  await e.exec(raw('CREATE TABLE names (event VARCHAR)'));
  await e.exec(sql`INSERT INTO names SELECT unnest(${NAMES})`);
});
afterAll(() => e.close());

async function matching(pred: ReturnType<typeof sqlMatchesAny>): Promise<string[]> {
  const rows = await e.query<{ event: string }>(sql`SELECT event FROM names WHERE ${pred} ORDER BY event`);
  return rows.map((r) => r.event);
}

describe('glob matching', () => {
  it('* and ? match the whole name, case-sensitively; exact names are literal', async () => {
    const patterns = ['recording_*', '$snap?hot', 'a[b]'];
    // recording_* : recording_started, recording_viewed (not `recordings`, not `Recording_started`)
    // $snap?hot   : $snapshot;  a[b] : the literal name `a[b]` (not `ab`)
    const expected = ['$snapshot', 'a[b]', 'recording_started', 'recording_viewed'];
    expect(await matching(sqlMatchesAny(e.dialect, raw('event'), patterns))).toEqual(expected);
    expect(NAMES.filter((n) => patterns.some((p) => matchesGlob(p, n))).sort()).toEqual(expected);
  });

  it('a bare * is everything and an empty list is nothing', async () => {
    expect(await matching(sqlMatchesAny(e.dialect, raw('event'), ['*']))).toHaveLength(NAMES.length);
    expect(await matching(sqlMatchesAny(e.dialect, raw('event'), []))).toEqual([]);
  });

  it('patterns are parameters, never SQL text', () => {
    const q = sqlMatchesAny(e.dialect, raw('event'), ["x' OR 1=1 --", 'y*']);
    expect(q.toString()).not.toContain('OR 1=1');
  });
});

describe('sqlActivityEvent', () => {
  const config = configSchema.parse({});
  const replay: ProductScope = { name: 'replay', events: ['recording_*', '$snapshot'], stripeProducts: [] };

  it('all: every event but the default exclusions', async () => {
    // 11 names minus $identify, survey sent, $feature_flag_called = 8
    const got = await matching(sqlActivityEvent(e.dialect, config.activity, ALL_PRODUCTS));
    expect(got).toHaveLength(8);
    expect(got).not.toContain('survey sent');
    expect(got).toEqual(NAMES.filter((n) => isActivityEvent(config.activity, ALL_PRODUCTS, n)).sort());
  });

  it('a product narrows to its own globs', async () => {
    const got = await matching(sqlActivityEvent(e.dialect, config.activity, replay));
    expect(got).toEqual(['$snapshot', 'recording_started', 'recording_viewed']);
  });

  it('excludeEvents win over activeEvents and product globs', async () => {
    const activity = { activeEvents: ['recording_*', '$pageview'], excludeEvents: ['*_viewed'] };
    expect(await matching(sqlActivityEvent(e.dialect, activity, ALL_PRODUCTS))).toEqual([
      '$pageview',
      'recording_started',
    ]);
    expect(await matching(sqlActivityEvent(e.dialect, activity, replay))).toEqual(['recording_started']);
    expect(isActivityEvent(activity, replay, 'recording_viewed')).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReview } from '../../src/review/build.js';
import { demoStore, type DemoStore } from '../helpers/demo-store.js';
import { onBoth, withClickHouseCopy, type Pair } from './engines.js';

let store: DemoStore;
let pair: Pair;

beforeAll(async () => {
  store = await demoStore({ seed: 11, orgs: 40, events: 6_000, until: '2025-06-15' });
  pair = await withClickHouseCopy(store.engine);
}, 300_000);

afterAll(async () => {
  await pair?.close();
  await store?.close();
});

describe('a whole review on DuckDB and on ClickHouse', () => {
  it('is identical apart from nothing (same generatedAt given)', async () => {
    const now = new Date('2025-06-15T00:00:00Z');
    const { duckdb, clickhouse } = await onBoth(pair, (engine) =>
      buildReview({ engine, config: store.config, product: 'all', month: store.files.month, now }),
    );
    expect(clickhouse).toEqual(duckdb);
  }, 600_000);
});

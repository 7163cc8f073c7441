import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_CONNECTIONS, buildReview } from '../../src/review/build.js';
import type { Engine } from '../../src/store/engine.js';
import { demoStore, type DemoStore } from '../helpers/demo-store.js';
import { monthsEndingAt } from '../../src/domain/month.js';
import { customerRevenueTimeline, SHARED_TIMELINE_MONTHS } from '../../src/metrics/revenue/customer-mrr.js';
import { ALL_PRODUCTS } from '../../src/metrics/types.js';
import { buildScope } from '../../src/store/build-scope.js';

/**
 * A review's independent queries run side by side on further connections of the store
 * (review/build.ts, `readPool`): the review must be the one a build of one query after another
 * writes, value for value. The side-by-side build's engine counts the connections it is asked
 * for, so the test knows that path really ran.
 */
let store: DemoStore;

beforeAll(async () => {
  store = await demoStore({ seed: 11, orgs: 40, events: 20_000, until: '2026-11-05' });
}, 180_000);

afterAll(async () => {
  await store?.close();
});

/** `e` with every operation passed through, and `connect` counted (or absent). */
function through(e: Engine, connect: (() => Promise<Engine>) | undefined): Engine {
  return {
    name: e.name,
    dialect: e.dialect,
    target: e.target,
    query: (q) => e.query(q),
    exec: (q) => e.exec(q),
    migrate: () => e.migrate(),
    close: () => Promise.resolve(),
    tables: () => e.tables(),
    scan: (t, c, n) => e.scan(t, c, n),
    insert: (t, r) => e.insert(t, r),
    upsert: (t, r, k) => e.upsert(t, r, k),
    truncate: (t) => e.truncate(t),
    replace: (t, b) => e.replace(t, b),
    ...(connect ? { connect } : {}),
  };
}

describe('a review built with its queries side by side', () => {
  it('is the review built one query after another, on more connections', async () => {
    const now = new Date('2026-11-20T12:00:00Z');
    let opened = 0;
    const sideBySide = through(store.engine, () => {
      opened++;
      return store.engine.connect();
    });
    const oneByOne = through(store.engine, undefined);
    const common = { config: store.config, product: 'all', month: store.files.month, now };
    const a = await buildReview({ ...common, engine: sideBySide });
    const b = await buildReview({ ...common, engine: oneByOne });
    expect(opened).toBe(BUILD_CONNECTIONS);
    expect(a.metrics.length).toBeGreaterThan(10);
    expect(a.deepDives.length).toBe(5);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  }, 300_000);
});

describe('what a build computes once and shares (store/build-scope.ts)', () => {
  it('reads the same from the tables it shares as from subqueries, and drops them after', async () => {
    const now = new Date('2026-11-20T12:00:00Z');
    const made: string[] = [];
    const dropped: string[] = [];
    const sharing: Engine = {
      ...through(store.engine, () => store.engine.connect()),
      shareTable: (name, select) => {
        made.push(name);
        return store.engine.shareTable(name, select);
      },
      dropSharedTable: (name) => {
        dropped.push(name);
        return store.engine.dropSharedTable(name);
      },
    };
    const common = { config: store.config, product: 'all', month: store.files.month, now };
    const a = await buildReview({ ...common, engine: sharing });
    const b = await buildReview({ ...common, engine: through(store.engine, undefined) });
    expect(made.length).toBeGreaterThan(0);
    expect(dropped).toEqual(made);
    expect(a.deepDives.length).toBe(5);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  }, 300_000);

  it('gives each dive the revenue timeline rows it would read alone', async () => {
    const month = store.files.month;
    const scope = { config: store.config, product: ALL_PRODUCTS };
    const shared = buildScope(store.engine);
    for (const n of [1, 6, SHARED_TIMELINE_MONTHS, SHARED_TIMELINE_MONTHS + 3]) {
      const months = monthsEndingAt(month, n);
      const alone = await customerRevenueTimeline({ ...scope, engine: store.engine, months });
      const inBuild = await customerRevenueTimeline({ ...scope, engine: shared, months });
      expect(alone.length).toBeGreaterThan(0);
      expect(inBuild).toEqual(alone);
    }
  }, 300_000);
});

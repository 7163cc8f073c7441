import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_CONNECTIONS, buildReview } from '../../src/review/build.js';
import type { Engine } from '../../src/store/engine.js';
import { demoStore, type DemoStore } from '../helpers/demo-store.js';

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

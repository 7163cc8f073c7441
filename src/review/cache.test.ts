import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoStore, type DemoStore } from '../../test/helpers/demo-store.js';
import { directContext } from '../app/context.js';
import { buildReviews } from '../app/reviews.js';
import { addMonths, monthEnd } from '../domain/month.js';
import { importFeedback } from '../ingest/feedback/import.js';
import { addLaunch } from '../launches/store.js';
import { parseMetricArg } from '../launches/metric.js';
import { addTodo, recordDecision } from './decisions.js';
import { buildReview } from './build.js';
import { reviewCacheKey } from './cache.js';
import { createTimings } from './timings.js';

// A small demo company (events, Stripe, feedback) through the real importers. A cached review must
// be the uncached one byte for byte (review.json, review.md, index.html), and any new import (or
// launch) must make the next build compute again.
let store: DemoStore;
let out: string;
const NOW = new Date('2026-11-20T09:00:00Z');

beforeAll(async () => {
  store = await demoStore({ seed: 7, orgs: 40, events: 15_000, until: '2026-11-05' });
  out = mkdtempSync(join(tmpdir(), 'sextant-cache-'));
}, 180_000);
afterAll(async () => {
  await store.close();
  rmSync(out, { recursive: true, force: true });
});

const FORMATS = ['json', 'md', 'html'] as const;

/** Builds, stores and writes the review of `all` into `out/<name>`: the files' text by path. */
async function reviewFiles(name: string, noCache: boolean): Promise<Map<string, string>> {
  const ctx = directContext(store.engine, store.config, { now: () => NOW });
  const built = await buildReviews(ctx, {
    month: store.files.month,
    products: ['all'],
    write: { formats: [...FORMATS], out: join(out, name) },
    noCache,
  });
  const files = new Map<string, string>();
  for (const b of built) {
    for (const f of b.files) files.set(f.slice(join(out, name).length), readFileSync(f, 'utf8'));
  }
  return files;
}

/** Whether a build of `all` reads the cache (and computes no metric, no dive). */
async function hits(): Promise<boolean> {
  const t = createTimings(true);
  await buildReview({
    engine: store.engine,
    config: store.config,
    product: 'all',
    month: store.files.month,
    now: NOW,
    cache: true,
    timings: t,
  });
  const lines = t.lines();
  expect(lines.some((l) => l.startsWith('dive ')) || lines.some((l) => l.startsWith('(cached'))).toBe(true);
  return lines.some((l) => l.startsWith('(cached'));
}

describe('review cache', () => {
  it('a cached review is the uncached one byte for byte, and a new import or launch rebuilds it', async () => {
    const fresh = await reviewFiles('fresh', true);
    const jsonPath = [...fresh.keys()].find((p) => p.endsWith('/review.json'))!;
    expect(jsonPath).toBeDefined();
    expect([...fresh.keys()].filter((p) => /\/(review\.json|review\.md|index\.html)$/.test(p)).length).toBe(
      3,
    );
    // Nothing cached yet (the builds above bypassed it).
    const key = await reviewCacheKey(store.engine, store.config, 'all', store.files.month, NOW);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(await hits()).toBe(false); // computes and stores
    expect(await hits()).toBe(true);

    const cached = await reviewFiles('cached', false);
    expect(await hits()).toBe(true);
    expect(cached.size).toBe(fresh.size);
    for (const [path, text] of fresh) expect(cached.get(path), path).toBe(text);
    expect(await reviewCacheKey(store.engine, store.config, 'all', store.files.month, NOW)).toBe(key);

    // The decision loop is never cached: a decision and a to-do recorded since show up.
    const previousMonth = addMonths(store.files.month, -1);
    await recordDecision(store.engine, {
      product: 'all',
      month: previousMonth,
      outcome: 'reprioritize',
      note: 'watch mrr',
      now: NOW,
    });
    await addTodo(store.engine, {
      product: 'all',
      month: previousMonth,
      title: 'Call churned',
      owner: null,
      now: NOW,
    });
    expect(await hits()).toBe(true);
    const decisionCached = await reviewFiles('decision-cached', false);
    const decisionFresh = await reviewFiles('decision-fresh', true);
    expect(decisionCached.get(jsonPath)).toContain('"reprioritize"');
    for (const [path, text] of decisionFresh) expect(decisionCached.get(path), path).toBe(text);

    // A new import (one more ticket in the review month): the key changes, the next build
    // computes, and it shows the new ticket.
    const csv = join(out, 'more-feedback.csv');
    writeFileSync(
      csv,
      'id,kind,created_at,distinct_id,email,organization,score,title,body,tags,status,closed_at\n' +
        `cache_test_1,ticket,${store.files.month}-15T12:00:00.000Z,someone,,,,Export broken,,,new,\n`,
    );
    const report = await importFeedback(store.engine, csv);
    expect(report.inserted).toBe(1);
    expect(await reviewCacheKey(store.engine, store.config, 'all', store.files.month, NOW)).not.toBe(key);
    expect(await hits()).toBe(false);
    const importCached = await reviewFiles('import-cached', false);
    const importFresh = await reviewFiles('import-fresh', true);
    expect(importCached.get(jsonPath)).not.toBe(decisionCached.get(jsonPath));
    for (const [path, text] of importFresh) expect(importCached.get(path), path).toBe(text);

    // A launch recorded since changes the key too.
    const before = await reviewCacheKey(store.engine, store.config, 'all', store.files.month, NOW);
    await addLaunch(store.engine, {
      title: 'Cache test launch',
      date: `${store.files.month}-10`,
      product: 'all',
      flag: undefined,
      metrics: [parseMetricArg('insight created:count')],
      unit: 'person',
      control: undefined,
      windowDays: 14,
    });
    expect(await reviewCacheKey(store.engine, store.config, 'all', store.files.month, NOW)).not.toBe(before);
    expect(await hits()).toBe(false);
    const launchCached = await reviewFiles('launch-cached', false);
    const launchFresh = await reviewFiles('launch-fresh', true);
    expect(launchCached.get(jsonPath)).toContain('Cache test launch');
    for (const [path, text] of launchFresh) expect(launchCached.get(path), path).toBe(text);
  }, 600_000);

  it('a config change, another month, or a new day in a month not over is a different key', async () => {
    const a = await reviewCacheKey(store.engine, store.config, 'all', store.files.month, NOW);
    const changed = { ...store.config, anomalies: { ...store.config.anomalies, threshold: 0.99 } };
    expect(await reviewCacheKey(store.engine, changed, 'all', store.files.month, NOW)).not.toBe(a);
    expect(
      await reviewCacheKey(store.engine, store.config, 'all', addMonths(store.files.month, -1), NOW),
    ).not.toBe(a);
    // The review month is over at NOW: a later day is the same key.
    const tomorrow = new Date(NOW.getTime() + 86_400_000);
    expect(NOW >= monthEnd(store.files.month)).toBe(true);
    expect(await reviewCacheKey(store.engine, store.config, 'all', store.files.month, tomorrow)).toBe(a);
    // The month NOW is in is not over: its coverage grows by the day, so does its key.
    const running = addMonths(store.files.month, 1);
    expect(NOW < monthEnd(running)).toBe(true);
    expect(await reviewCacheKey(store.engine, store.config, 'all', running, NOW)).not.toBe(
      await reviewCacheKey(store.engine, store.config, 'all', running, tomorrow),
    );
  });
});

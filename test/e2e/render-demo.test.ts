/// <reference lib="dom" />
// The functions passed to page.evaluate run in the page, so this file sees the DOM types.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/program.js';
import type { Review } from '../../src/domain/review.js';
import { kpiMetrics } from '../../src/render/layout.js';
import { validateReview } from '../../src/render/schema.js';
import { launchBrowser } from './browser.js';

/**
 * A small demo company through the whole CLI (generate, import, review), then its documents:
 * every review.json passes the schema, the same data gives the same bytes apart from generatedAt,
 * and each index.html renders in real Chromium with its charts and no console errors.
 */

const dir = mkdtempSync(join(tmpdir(), 'sextant-render-demo-'));
const db = join(dir, 'sextant.duckdb');
const cwd = process.cwd();
let products: string[] = [];
let month = '';

beforeAll(async () => {
  // The demo writes demo-data/ and reviews/ under the working directory.
  process.chdir(dir);
  const code = await run([
    '--db',
    db,
    'demo',
    '--seed',
    '7',
    '--orgs',
    '40',
    '--events',
    '15000',
    '--until',
    '2026-11-05',
  ]);
  expect(code).toBe(0);
  month = readdirSync(join(dir, 'reviews'))[0]!;
  products = readdirSync(join(dir, 'reviews', month)).sort();
}, 180_000);

afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

const read = (...p: string[]) => readFileSync(join(dir, ...p), 'utf8');

describe("the demo's review documents", () => {
  it('writes a valid review.json, index.html and review.md per product, plus all', () => {
    expect(month).toBe('2026-10');
    expect(products).toContain('all');
    expect(products.length).toBeGreaterThan(1);
    for (const p of products) {
      const v = validateReview(JSON.parse(read('reviews', month, p, 'review.json')));
      expect(v.errors, p).toEqual([]);
      expect(read('reviews', month, p, 'index.html')).toContain('<h2>Month by month</h2>');
      const md = read('reviews', month, p, 'review.md');
      for (const m of md.matchAll(/\]\((charts\/[a-z0-9-]+\.svg)\)/g)) {
        expect(read('reviews', month, p, m[1]!).startsWith('<svg'), m[1]).toBe(true);
      }
    }
  });

  it('gives the same bytes for the same data, apart from generatedAt', async () => {
    const again = join(dir, 'again');
    const config = join(dir, 'demo-data', 'sextant.config.yaml');
    const code = await run([
      '--db',
      db,
      '--config',
      config,
      'review',
      '--month',
      month,
      '--product',
      'all',
      '--out',
      again,
    ]);
    expect(code).toBe(0);
    const first = JSON.parse(read('reviews', month, 'all', 'review.json')) as { generatedAt: string };
    const second = JSON.parse(read('again', 'review.json')) as { generatedAt: string };
    const same = (s: string, from: string) => s.replaceAll(from, 'GENERATED');
    for (const f of ['review.json', 'index.html', 'review.md']) {
      expect(same(read('again', f), second.generatedAt), f).toBe(
        same(read('reviews', month, 'all', f), first.generatedAt),
      );
    }
  });

  it('renders each index.html in real Chromium with its charts and no console errors', async () => {
    const browser = await launchBrowser();
    try {
      for (const p of products) {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(pathToFileURL(join(dir, 'reviews', month, p, 'index.html')).href);
        // Charts inside a closed fold have no box: open every fold, as print does.
        await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
        const sizes = await page.evaluate(() =>
          Array.from(document.querySelectorAll('svg')).map(
            (s) => s.getBoundingClientRect().width * s.getBoundingClientRect().height,
          ),
        );
        const review = JSON.parse(read('reviews', month, p, 'review.json')) as Review;
        const { outputs, inputs } = kpiMetrics(review.metrics);
        expect(sizes.length, p).toBeGreaterThanOrEqual(outputs.length + inputs.length); // a sparkline per KPI card, then charts
        expect(
          sizes.every((a) => a > 0),
          p,
        ).toBe(true);
        expect(errors, p).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});

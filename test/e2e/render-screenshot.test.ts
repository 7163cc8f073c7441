/// <reference lib="dom" />
// The functions passed to page.evaluate run in the page, so this file sees the DOM types.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/render/html.js';
import { kpiMetrics } from '../../src/render/layout.js';
import { sampleReview } from '../helpers/sample-review.js';
import { launchBrowser, type Browser } from './browser.js';

/**
 * The review page in real headless Chromium: every chart renders with a real size, nothing logs
 * an error, nothing is fetched, the page prints. The screenshots stay in a temp folder (its path
 * is logged) for a person to look at.
 */

let browser: Browser;
const dir = mkdtempSync(join(tmpdir(), 'sextant-screenshot-'));

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('index.html in real Chromium', () => {
  it('renders every chart with a non-zero size, no console errors, no requests', async () => {
    const file = join(dir, 'index.html');
    writeFileSync(file, renderHtml(sampleReview()));
    const url = pathToFileURL(file).href;
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    // Charts inside a closed fold have no box: open every fold, as print does.
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));

    const charts = await page.evaluate(() =>
      Array.from(document.querySelectorAll('svg')).map((s) => {
        const box = s.getBoundingClientRect();
        return {
          where: s.closest('[id]')?.id ?? '',
          width: box.width,
          height: box.height,
          shapes: s.querySelectorAll('path, rect, text').length,
        };
      }),
    );
    const review = sampleReview();
    const { outputs, inputs } = kpiMetrics(review.metrics);
    // a sparkline per KPI card, the MRR waterfall, 5 dive charts
    expect(charts).toHaveLength(outputs.length + inputs.length + 1 + 5);
    for (const c of charts) {
      expect(c.width, c.where).toBeGreaterThan(0);
      expect(c.height, c.where).toBeGreaterThan(0);
      expect(c.shapes, c.where).toBeGreaterThan(1);
    }
    expect(charts.filter((c) => c.where.startsWith('kpi-'))).toHaveLength(outputs.length + inputs.length);
    expect(charts.filter((c) => c.where.startsWith('chart-')).map((c) => c.where)).toEqual([
      'chart-mrr-movements',
      'chart-icp-vs-non-icp-icp',
      'chart-icp-vs-non-icp-retention',
      'chart-churn-reasons-drivers',
      'chart-leading-indicators-lift',
      'chart-onboarding-funnel-funnel',
    ]);
    // The metrics table fits a 1366 px laptop screen without a horizontal scroll bar.
    const overflow = await page.evaluate(() => {
      const wrap = document.querySelector('#metrics .table-wrap')!;
      return wrap.scrollWidth - wrap.clientWidth;
    });
    expect(overflow).toBe(0);

    const top = join(dir, 'top.png');
    const full = join(dir, 'full.png');
    await page.screenshot({ path: top });
    await page.screenshot({ path: full, fullPage: true });
    expect(statSync(top).size).toBeGreaterThan(20_000);

    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ path: join(dir, 'review.pdf'), landscape: true, printBackground: false });
    expect(pdf.byteLength).toBeGreaterThan(20_000);

    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
    console.log(`screenshots: ${dir}`);
  });
});

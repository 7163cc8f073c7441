/// <reference lib="dom" />
// The functions passed to page.evaluate run in the page, so this file sees the DOM types.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/render/html.js';
import { kpiMetrics } from '../../src/render/layout.js';
import { HOSTILE_TEXT, sampleReview } from '../helpers/sample-review.js';
import { launchBrowser, type Browser } from './browser.js';

/**
 * Hostile strings in every user-text field of a review, loaded in real headless Chromium: nothing
 * may execute, no element may be injected, nothing may be fetched. The page is checked twice: as
 * written, and with its Content-Security-Policy removed, so the escaping alone is shown to hold.
 * A canary page with one unescaped payload proves the harness would notice.
 */

interface Visit {
  dialogs: string[];
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
  xss: unknown;
  injected: number;
  eventAttributes: string[];
  svgs: number;
  bodyText: string;
}

let browser: Browser;
const dir = mkdtempSync(join(tmpdir(), 'sextant-xss-'));

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function visit(name: string, html: string): Promise<Visit> {
  const file = join(dir, name);
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;
  const page = await browser.newPage();
  const v: Visit = {
    dialogs: [],
    consoleErrors: [],
    pageErrors: [],
    requests: [],
    xss: undefined,
    injected: 0,
    eventAttributes: [],
    svgs: 0,
    bodyText: '',
  };
  page.on('dialog', (d) => {
    v.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') v.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => v.pageErrors.push(e.message));
  page.on('request', (r) => {
    if (r.url() !== url) v.requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  // Give onerror/onload handlers and timers a moment to fire if anything was injected.
  await page.waitForTimeout(300);
  const seen = await page.evaluate(() => {
    // Read what a person can unfold too.
    document.querySelectorAll('details').forEach((d) => (d.open = true));
    const w = window as unknown as { __xss?: unknown; parent: { __xss?: unknown } };
    const attrs: string[] = [];
    for (const el of Array.from(document.querySelectorAll('*'))) {
      for (const a of Array.from(el.attributes))
        if (/^on/i.test(a.name)) attrs.push(`${el.tagName}@${a.name}`);
    }
    return {
      xss: w.__xss ?? w.parent.__xss,
      injected: document.querySelectorAll(
        // Links within the page (the navigation) are ours; any other anchor was injected.
        'script, img, iframe, object, embed, a:not([href^="#"]), form, input, textarea, link',
      ).length,
      eventAttributes: attrs,
      svgs: document.querySelectorAll('svg').length,
      bodyText: document.body.innerText,
    };
  });
  await page.close();
  return { ...v, ...seen };
}

const hostilePage = () => renderHtml(sampleReview({ text: (field) => `${HOSTILE_TEXT} ${field}` }));

describe('hostile text in real Chromium', () => {
  it('the harness notices an unescaped payload (canary)', async () => {
    const v = await visit('canary.html', '<!doctype html><p>x</p><img src=x onerror="window.__xss=2">');
    expect(v.xss).toBe(2);
    expect(v.injected).toBe(1);
    expect(v.eventAttributes).toEqual(['IMG@onerror']);
  });

  for (const [label, transform] of [
    ['as written (with its CSP)', (h: string) => h],
    [
      'with the Content-Security-Policy removed (escaping alone)',
      (h: string) => h.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, ''),
    ],
  ] as const) {
    it(`executes nothing and injects nothing, ${label}`, async () => {
      const page = transform(hostilePage());
      if (label.startsWith('with the')) expect(page).not.toContain('Content-Security-Policy');
      const v = await visit(`hostile-${label.length}.html`, page);
      expect(v.dialogs).toEqual([]);
      expect(v.xss).toBeUndefined();
      expect(v.injected).toBe(0);
      expect(v.eventAttributes).toEqual([]);
      // a sparkline per KPI card, the MRR waterfall, 5 dive charts, and not one SVG more (the
      // payload has an <svg onload>)
      const { outputs, inputs } = kpiMetrics(sampleReview().metrics);
      expect(v.svgs).toBe(outputs.length + inputs.length + 1 + 5);
      expect(v.pageErrors).toEqual([]);
      expect(v.consoleErrors).toEqual([]);
      expect(v.requests).toEqual([]);
      // The payloads are shown as text, so the reader sees what the data said.
      expect(v.bodyText).toContain('<script>window.__xss=1;alert(1)</script>');
      expect(v.bodyText).toContain('"><img src=x onerror="window.__xss=2">');
      expect(v.bodyText).toContain('customers.name');
      expect(v.bodyText).toContain('churned.organization'); // a customer without a name is shown by its id
      expect(v.bodyText).toContain('previous.note');
    });
  }
});

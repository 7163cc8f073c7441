import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Review } from '../domain/review.js';
import { idSlug } from './escape.js';
import { renderHtml } from './html.js';
import { kpiMetrics } from './layout.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { HOSTILE_TEXT, sampleReview } from '../../test/helpers/sample-review.js';
import { validateReview } from './schema.js';
import { writeReview } from './write.js';

const hostile = () => sampleReview({ text: (field) => `${HOSTILE_TEXT} ${field}` });

/** The same object with every key list reversed: a review built in another order. */
function reversedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversedKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reversedKeys(x)]),
  );
}

const renderAll = (r: Review) => [renderHtml(r), renderMarkdown(r).markdown, renderJson(r)];

describe('determinism', () => {
  it('gives the same bytes for the same review in all three formats, whatever order it was built in', () => {
    const a = renderAll(sampleReview());
    expect(renderAll(sampleReview())).toEqual(a);
    expect(renderAll(reversedKeys(sampleReview()) as Review)[2]).toBe(a[2]);
    expect(renderMarkdown(sampleReview()).files).toEqual(renderMarkdown(sampleReview()).files);
  });

  it('differs only in generatedAt when only generatedAt differs', () => {
    const a = renderAll(sampleReview({ generatedAt: '2026-11-02T08:00:00.000Z' }));
    const b = renderAll(sampleReview({ generatedAt: '2027-01-01T00:00:00.000Z' }));
    expect(b).not.toEqual(a);
    expect(b.map((s) => s.replaceAll('2027-01-01T00:00:00.000Z', '2026-11-02T08:00:00.000Z'))).toEqual(a);
  });

  it('writes review.json with 2-space indent and SPEC key order', () => {
    const json = renderJson(sampleReview());
    expect(json.endsWith('}\n')).toBe(true);
    expect(json.split('\n')[1]).toBe('  "schemaVersion": 1,');
    const top = Object.keys(JSON.parse(json) as object);
    expect(top).toEqual([
      'schemaVersion',
      'product',
      'month',
      'generatedAt',
      'currency',
      'dataCoverage',
      'metrics',
      'anomalies',
      'deepDives',
      'highlights',
      'previous',
    ]);
  });
});

describe('renderHtml', () => {
  const page = renderHtml(sampleReview());
  const review = sampleReview();
  // KPI-card sparklines, the MRR waterfall, 5 dive charts (icp, retention, drivers, lift, funnel)
  const svgs = kpiMetrics(review.metrics).outputs.length + kpiMetrics(review.metrics).inputs.length + 1 + 5;

  it('is self-contained: no scripts, nothing to fetch, links only within the page, a CSP that forbids both', () => {
    expect(page).not.toMatch(/<script|<link|<img|<iframe|@import|src=/i);
    for (const m of page.matchAll(/href="([^"]*)"/g)) expect(m[1]!.startsWith('#'), m[1]).toBe(true);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    // The only URLs are SVG namespace names, which are never fetched.
    const urls = [...page.matchAll(/https?:\/\/[^"'\s)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
  });

  it('has its sections in order, a row per metric with 13 months, and inline charts', () => {
    const order = [
      '<header>',
      '<nav class="toc"',
      'id="glance"',
      'id="metrics"',
      'id="mrr-movements"',
      'id="feedback"',
      'id="deep-dives"',
      'id="launches"',
      'id="coverage"',
      'id="questions"',
    ];
    const at = order.map((s) => page.indexOf(s));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((x, y) => x - y)).toEqual(at);
    for (const m of review.metrics) expect(page).toContain(`<tr id="metric-${idSlug(m.id)}">`);
    expect(page.match(/<th scope="col">\d{4}-\d{2}<\/th>/g)).toHaveLength(13);
    expect(page.match(/<svg /g)).toHaveLength(svgs);
    // the anomaly is marked visibly and explained in the title and to a screen reader
    expect(page).toMatch(
      /<td class="current anomaly" title="Anomaly: unusually high[^"]*Churned MRR 4x the trailing median[^"]*">\s*[^<]*<span class="marker" aria-hidden="true">▲<\/span\s*><span class="sr-only">Anomaly: unusually high/,
    );
  });

  it('escapes every hostile string: no tag, attribute or style break-out survives', () => {
    const evil = renderHtml(hostile());
    expect(evil).not.toMatch(/<script|<img|<svg onload|<iframe|<\/textarea>/i);
    expect(evil.match(/<\/title>/g)).toHaveLength(1); // ours
    expect(evil.match(/<\/style>/g)).toHaveLength(1 + svgs); // ours in <head>, and one in each chart
    expect(evil).toContain('&lt;script&gt;window.__xss=1');
    expect(evil).toContain('&quot;&gt;&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;');
  });

  it("shows how the last review's metrics moved, relative for counts", () => {
    // active users 410 → 452: (452 − 410) / 410 = +10.2%
    expect(page).toMatch(/Active users: 410 →\s*452\s*\(\+10\.2%\)/);
    expect(renderMarkdown(sampleReview()).markdown).toContain('| Active users | 410 | 452 | +10.2% |');
  });

  it('renders absent, empty and malformed dive data as "no data" in words, never a table or a crash', () => {
    const r = sampleReview();
    r.deepDives = [
      { id: 'top-customers', question: 'q', summary: 's', method: 'm', findings: [], data: {} },
      {
        id: 'onboarding-funnel',
        question: 'q',
        summary: 's',
        method: 'm',
        findings: [],
        data: { steps: 'nope' },
      },
      {
        id: 'churn-reasons',
        question: 'q',
        summary: 's',
        method: 'm',
        findings: [],
        data: { drivers: [null, 3] },
      },
      { id: 'new-dive', question: 'q', summary: 's', method: 'm', findings: [], data: null as never },
    ];
    r.previous = null;
    r.highlights = [];
    r.anomalies = [];
    const out = renderHtml(r);
    const dives = out.slice(out.indexOf('id="deep-dives"'), out.indexOf('id="launches"'));
    expect(dives).not.toContain('<table');
    expect(dives.match(/class="dive"/g)).toHaveLength(4);
    expect(dives.match(/No data for: /g)).toHaveLength(3); // the unknown dive has no tables to miss
    expect(out).toContain('No previous review recorded');
    const mdOut = renderMarkdown(r).markdown;
    expect(mdOut.match(/: no data\._/g)?.length).toBeGreaterThanOrEqual(3);
  });
});

describe('renderMarkdown', () => {
  it('references each chart by the relative path chartFile gives, and returns the SVG for it', () => {
    const { markdown, files } = renderMarkdown(sampleReview(), { chartFile: (n) => `img/${n}.svg` });
    expect(files).toHaveLength(28);
    for (const f of files) {
      expect(f.path).toBe(`img/${f.name}.svg`);
      expect(markdown).toContain(`](${f.path})`);
      expect(f.svg.startsWith('<svg')).toBe(true);
    }
  });

  it('keeps hostile text inert and every table row at its column count', () => {
    const { markdown } = renderMarkdown(hostile());
    expect(markdown).not.toMatch(/<script|<img|<svg|<iframe|(?<!\\)\]\(javascript:/i);
    let columns = 0;
    for (const line of markdown.split('\n')) {
      if (!line.startsWith('|')) {
        columns = 0;
        continue;
      }
      // cells are separated by pipes not preceded by a backslash
      const cells = line.split(/(?<!\\)\|/).length - 2;
      if (columns === 0) columns = cells;
      expect(cells, line).toBe(columns);
    }
  });
});

describe('writeReview', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-render-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes index.html, review.md with its charts, and a valid review.json', async () => {
    const written = await writeReview(sampleReview(), join(dir, 'out'), ['html', 'md', 'json']);
    expect(written[0]).toBe(join(dir, 'out', 'index.html'));
    expect(written[1]).toBe(join(dir, 'out', 'review.md'));
    expect(written.at(-1)).toBe(join(dir, 'out', 'review.json'));
    expect(written).toHaveLength(3 + 28);
    for (const f of written) expect(existsSync(f)).toBe(true);
    expect(existsSync(join(dir, 'out', 'charts', 'spark-mrr.svg'))).toBe(true);
    const json: unknown = JSON.parse(readFileSync(join(dir, 'out', 'review.json'), 'utf8'));
    expect(validateReview(json)).toEqual({ ok: true, errors: [] });
  });

  it('writes only the formats asked for', async () => {
    const written = await writeReview(sampleReview(), join(dir, 'json-only'), ['json']);
    expect(written).toEqual([join(dir, 'json-only', 'review.json')]);
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { findChromium } from '../../src/render/pdf.js';
import { writeReview } from '../../src/render/write.js';
import { runSextant } from '../helpers/cli.js';
import { sampleReview } from '../helpers/sample-review.js';
import { CHROMIUM_PATH } from './browser.js';

/**
 * `sextant review --format pdf`: the page printed by a real headless Chromium, and a clear exit 2
 * when there is no Chromium to print with. (The CLI test needs `npm run build`; `npm test` does.)
 */

const dir = mkdtempSync(join(tmpdir(), 'sextant-pdf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('review.pdf', () => {
  it('prints the review through headless Chromium: a multi-page A4 landscape PDF', async () => {
    const written = await writeReview(sampleReview(), join(dir, 'out'), ['html', 'pdf']);
    expect(written.map((f) => f.slice(dir.length))).toEqual(['/out/index.html', '/out/review.pdf']);
    const pdf = readFileSync(join(dir, 'out', 'review.pdf'));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.byteLength).toBeGreaterThan(20_000);
    const text = pdf.toString('latin1');
    const pages = text.match(/\/Type\s*\/Page[^s]/g) ?? [];
    // The first screen is a page of its own (break-after), then the rest.
    expect(pages.length).toBeGreaterThanOrEqual(3);
    // A4 landscape: 842 × 595 points.
    const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(text);
    expect(box).not.toBeNull();
    expect(Number(box![1])).toBeCloseTo(841.9, 0);
    expect(Number(box![2])).toBeCloseTo(595.3, 0);
  });

  it('finds the Chromium SEXTANT_CHROMIUM names, and names it when it is missing', () => {
    expect(findChromium({ SEXTANT_CHROMIUM: CHROMIUM_PATH })).toBe(CHROMIUM_PATH);
    expect(() => findChromium({ SEXTANT_CHROMIUM: '/nowhere/chromium' })).toThrow(InputError);
    expect(() => findChromium({ SEXTANT_CHROMIUM: '/nowhere/chromium' })).toThrow(/\/nowhere\/chromium/);
  });

  it('exits 2 with a clear message, before any work, when no Chromium can print', async () => {
    const r = await runSextant(['--db', join(dir, 'none.duckdb'), 'review', '--format', 'html,pdf'], {
      SEXTANT_CHROMIUM: '/nowhere/chromium',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("field '--format'");
    expect(r.stderr).toContain('/nowhere/chromium');
    expect(r.stdout).toBe('');
  });
});

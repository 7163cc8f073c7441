import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Review } from '../domain/review.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { defaultChartFile, renderMarkdown } from './markdown.js';
import { renderPdf } from './pdf.js';

export type ReviewFormat = 'html' | 'md' | 'json' | 'pdf';

/**
 * Writes the review into `outDir` (created if missing): index.html, review.md with its charts
 * under charts/, review.json, review.pdf (the page printed by a headless Chromium: render/pdf.ts).
 * Returns the absolute paths written, in that order.
 */
export async function writeReview(
  review: Review,
  outDir: string,
  formats: ReviewFormat[],
): Promise<string[]> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const put = async (relative: string, content: string | Buffer) => {
    const path = resolve(dir, relative);
    // Chart paths come from our own names ([a-z0-9-]); refuse anything that would leave outDir.
    if (!path.startsWith(dir + sep)) throw new Error(`refusing to write outside ${dir}: ${relative}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    written.push(path);
  };
  if (formats.includes('html')) await put('index.html', renderHtml(review));
  if (formats.includes('md')) {
    const { markdown, files } = renderMarkdown(review, { chartFile: defaultChartFile });
    await put('review.md', markdown);
    for (const f of files) await put(join(f.path), f.svg);
  }
  if (formats.includes('json')) await put('review.json', renderJson(review));
  if (formats.includes('pdf')) await put('review.pdf', await renderPdf(renderHtml(review)));
  return written;
}

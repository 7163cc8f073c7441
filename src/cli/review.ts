import type { Command } from 'commander';
import { directContext } from '../app/context.js';
import { reviewProducts } from '../app/products.js';
import { buildReviews, type BuiltReview } from '../app/reviews.js';
import { isMonth, lastCompleteMonth } from '../domain/month.js';
import { InputError } from '../errors.js';
import { findChromium } from '../render/pdf.js';
import type { ReviewFormat } from '../render/write.js';
import { fiveLineSummary } from '../review/summary.js';
import { commandConfig, globalOptions, progress, withEngine } from './context.js';

const FORMATS: readonly ReviewFormat[] = ['html', 'md', 'json', 'pdf'];

export function parseFormats(text: string): ReviewFormat[] {
  const fs = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of fs) {
    if (!FORMATS.includes(f as ReviewFormat)) {
      throw new InputError(`unknown format '${f}' (choose from ${FORMATS.join(', ')})`, {
        field: '--format',
      });
    }
  }
  if (fs.length === 0) throw new InputError('no format given', { field: '--format' });
  // Before any work: a PDF needs a Chromium, and its absence is the user's to fix (exit 2).
  if (fs.includes('pdf')) findChromium();
  return fs as ReviewFormat[];
}

export function registerReview(program: Command): void {
  program
    .command('review')
    .description('write the growth review (index.html, review.md, review.json) for a month')
    .option('--month <YYYY-MM>', 'the month (default: the last complete one)')
    .option('--product <name>', "one product (default: every configured product plus 'all')")
    .option(
      '--format <list>',
      'comma-separated: html,md,json,pdf (pdf needs a headless Chromium)',
      'html,md,json',
    )
    .option('--out <dir>', 'output folder (default: reviews/<YYYY-MM>/<product>/)')
    .option('--no-cache', 'build from scratch: neither read nor write the review cache')
    .option('--timings', 'print where the build spends its time to stderr (also SEXTANT_TIMINGS=1)')
    .action(
      async (
        o: {
          month?: string;
          product?: string;
          format: string;
          out?: string;
          cache: boolean;
          timings?: boolean;
        },
        cmd: Command,
      ) => {
        const month = o.month ?? lastCompleteMonth();
        if (!isMonth(month))
          throw new InputError(`'${month}' is not a month (YYYY-MM)`, { field: '--month' });
        // Before any work: a bad --format (or a PDF without a Chromium) is the user's to fix.
        const formats = parseFormats(o.format);
        const config = commandConfig(cmd);
        const products = reviewProducts(config, o.product, '--product');
        const written = await withEngine(cmd, (engine) =>
          buildReviews(directContext(engine, config, { log: progress(cmd) }), {
            month,
            products,
            write: { formats, out: o.out },
            noCache: !o.cache,
            timings: o.timings,
          }),
        );
        if (globalOptions(cmd).json) {
          process.stdout.write(
            JSON.stringify(
              written.map((w) => ({ product: w.review.product, dir: w.dir, files: w.files })),
              null,
              2,
            ) + '\n',
          );
          return;
        }
        for (const w of written) printWritten(w);
      },
    );
}

export function printWritten(w: BuiltReview): void {
  const html = w.files.find((f) => f.endsWith('index.html')) ?? w.files[0] ?? w.dir ?? '';
  process.stdout.write(`\n${w.review.product} ${w.review.month}: ${html}\n`);
  for (const line of fiveLineSummary(w.review)) process.stdout.write(`  ${line}\n`);
}

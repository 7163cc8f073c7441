import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import type { Month } from '../domain/month.js';
import { isMonth, lastCompleteMonth } from '../domain/month.js';
import type { Review } from '../domain/review.js';
import { InputError } from '../errors.js';
import type { ReviewFormat } from '../render/write.js';
import { fiveLineSummary } from '../review/summary.js';
import type { Engine } from '../store/engine.js';
import { commandConfig, globalOptions, progress, withEngine } from './context.js';

const FORMATS: readonly ReviewFormat[] = ['html', 'md', 'json'];

export interface ReviewRunOptions {
  month: Month;
  products: string[];
  formats: ReviewFormat[];
  /** The folder holding `<YYYY-MM>/<product>/`, or, with one product, the exact output folder. */
  out?: string;
  log: (line: string) => void;
}

export interface WrittenReview {
  review: Review;
  dir: string;
  files: string[];
}

/** Builds, stores and writes the reviews of `products` for `month`: what `review` and `demo` both run. */
export async function runReviews(
  engine: Engine,
  config: Config,
  o: ReviewRunOptions,
): Promise<WrittenReview[]> {
  // Loaded here, not at the top: the renderer and the analyses take most of the CLI's start-up,
  // which every other command would pay (a 1M-event import: 0.5 s of its 5).
  const [{ buildReview }, { storeReview }, { writeReview }] = await Promise.all([
    import('../review/build.js'),
    import('../review/store.js'),
    import('../render/write.js'),
  ]);
  const out: WrittenReview[] = [];
  for (const product of o.products) {
    o.log(`building the ${product} review of ${o.month}…`);
    const review = await buildReview({ engine, config, product, month: o.month });
    await storeReview(engine, review);
    const dir =
      o.out && o.products.length === 1 ? resolve(o.out) : resolve(o.out ?? 'reviews', o.month, product);
    const files = await writeReview(review, dir, o.formats);
    out.push({ review, dir, files });
  }
  return out;
}

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
  return fs as ReviewFormat[];
}

export function reviewProducts(config: Config, product?: string): string[] {
  const all = [...config.products.map((p) => p.name), 'all'];
  if (product === undefined) return all;
  if (!all.includes(product)) {
    throw new InputError(`unknown product '${product}' (configured: ${all.join(', ')})`, {
      field: '--product',
    });
  }
  return [product];
}

export function registerReview(program: Command): void {
  program
    .command('review')
    .description('write the growth review (index.html, review.md, review.json) for a month')
    .option('--month <YYYY-MM>', 'the month (default: the last complete one)')
    .option('--product <name>', "one product (default: every configured product plus 'all')")
    .option('--format <list>', 'comma-separated: html,md,json', 'html,md,json')
    .option('--out <dir>', 'output folder (default: reviews/<YYYY-MM>/<product>/)')
    .action(async (o: { month?: string; product?: string; format: string; out?: string }, cmd: Command) => {
      const month = o.month ?? lastCompleteMonth();
      if (!isMonth(month)) throw new InputError(`'${month}' is not a month (YYYY-MM)`, { field: '--month' });
      const config = commandConfig(cmd);
      const products = reviewProducts(config, o.product);
      const formats = parseFormats(o.format);
      const written = await withEngine(cmd, (engine) =>
        runReviews(engine, config, { month, products, formats, out: o.out, log: progress(cmd) }),
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
    });
}

export function printWritten(w: WrittenReview): void {
  const html = w.files.find((f) => f.endsWith('index.html')) ?? w.files[0] ?? w.dir;
  process.stdout.write(`\n${w.review.product} ${w.review.month}: ${html}\n`);
  for (const line of fiveLineSummary(w.review)) process.stdout.write(`  ${line}\n`);
}

/**
 * Use cases on reviews: build (and store, and optionally write) the reviews of a month, read a
 * stored one, list them, and the months × products grid the web app opens on.
 */
import { resolve } from 'node:path';
import type { Month } from '../domain/month.js';
import { lastCompleteMonth, monthsEndingAt } from '../domain/month.js';
import type { DecisionOutcome, Review } from '../domain/review.js';
import type { ReviewFormat } from '../render/write.js';
import { sql } from '../store/sql.js';
import type { Engine } from '../store/engine.js';
import type { AppContext } from './context.js';
import { allProducts } from './products.js';

export interface BuildReviewsInput {
  month: Month;
  /** Checked product names (see `reviewProducts`). */
  products: readonly string[];
  /** Also write each review's files: into `<out>/<month>/<product>/`, or `out` itself for one product. */
  write?: { formats: ReviewFormat[]; out?: string };
  /** Build from scratch, neither reading nor writing the review cache (review/cache.ts). */
  noCache?: boolean;
  /** Print where each build's time goes to stderr (review/timings.ts); default: `SEXTANT_TIMINGS`. */
  timings?: boolean;
}

export interface BuiltReview {
  review: Review;
  /** Where its files were written, when they were. */
  dir: string | null;
  files: string[];
}

/** Builds, stores (and writes) the reviews of `products` for `month`: what `review`, `demo`, the web app and the scheduler run. */
export async function buildReviews(ctx: AppContext, input: BuildReviewsInput): Promise<BuiltReview[]> {
  // Loaded here, not at the top: the renderer and the analyses take most of the CLI's start-up,
  // which every other command would pay (a 1M-event import: 0.5 s of its 5).
  const [{ buildReview }, { storeReview }, { finishInterruptedImports }, { createTimings, timingsFromEnv }] =
    await Promise.all([
      import('../review/build.js'),
      import('../review/store.js'),
      import('../ingest/posthog/import-events.js'),
      import('../review/timings.js'),
    ]);
  const timed = input.timings ?? timingsFromEnv();
  // An events import that stopped part way left persons and groups behind its events: finish it
  // first, alone, since it writes.
  await ctx.exclusive((engine) => finishInterruptedImports(engine));
  const out: BuiltReview[] = [];
  for (const product of input.products) {
    ctx.log(`building the ${product} review of ${input.month}…`);
    const timings = createTimings(timed);
    const review = await buildReview({
      engine: ctx.engine,
      config: ctx.config,
      product,
      month: input.month,
      now: ctx.now(),
      finishImports: false,
      cache: !input.noCache,
      exclusive: (work) => ctx.exclusive(work),
      timings,
    });
    await timings.time('store review', () => ctx.exclusive((engine) => storeReview(engine, review)));
    let dir: string | null = null;
    let files: string[] = [];
    if (input.write) {
      const { writeReview } = await import('../render/write.js');
      const o = input.write.out;
      dir = o && input.products.length === 1 ? resolve(o) : resolve(o ?? 'reviews', input.month, product);
      const at = dir;
      files = await timings.time('write files', () => writeReview(review, at, input.write!.formats));
    }
    if (timed) for (const line of timings.lines()) process.stderr.write(`[timings ${product}] ${line}\n`);
    out.push({ review, dir, files });
  }
  return out;
}

export async function readReview(ctx: AppContext, product: string, month: Month): Promise<Review | null> {
  const { loadReview } = await import('../review/store.js');
  return loadReview(ctx.engine, product, month);
}

export interface StoredReviewEntry {
  product: string;
  month: Month;
  generatedAt: string;
}

/** The stored reviews (the latest of each product and month), newest month first. */
export async function listReviews(engine: Engine): Promise<StoredReviewEntry[]> {
  const rows = await engine.query<{ product: string; month: string; generated_at: string }>(
    sql`SELECT product, month, generated_at FROM reviews ORDER BY month DESC, product`,
  );
  return rows.map((r) => ({ product: r.product, month: r.month, generatedAt: r.generated_at }));
}

export interface ReviewCell {
  product: string;
  month: Month;
  /** When its stored review was built; null when there is none. */
  generatedAt: string | null;
  decision: DecisionOutcome | null;
  openTodos: number;
  doneTodos: number;
}

export interface ReviewGrid {
  /** Newest first: the last complete month and the months before it, plus any month with a review. */
  months: Month[];
  /** The configured products, then `all`. */
  products: string[];
  /** Keyed `${month}|${product}`. */
  cells: Map<string, ReviewCell>;
}

/** The months × products grid: which reviews exist, their decision and to-dos. */
export async function reviewGrid(ctx: AppContext, months = 12): Promise<ReviewGrid> {
  const last = lastCompleteMonth(ctx.now());
  const d = ctx.engine.dialect;
  const [reviews, decisions, todos] = [
    await listReviews(ctx.engine),
    await ctx.engine.query<{ product: string; month: string; outcome: DecisionOutcome }>(
      sql`SELECT product, month, outcome FROM decisions`,
    ),
    await ctx.engine.query<{ product: string; month: string; open: number; done: number }>(
      sql`SELECT product, month, ${d.sqlCountIf(sql`done_at IS NULL`)} AS open,
            ${d.sqlCountIf(sql`done_at IS NOT NULL`)} AS done
          FROM todos GROUP BY product, month`,
    ),
  ];
  const products = allProducts(ctx.config);
  const monthSet = new Set<Month>(monthsEndingAt(last, months));
  for (const r of reviews) if (products.includes(r.product)) monthSet.add(r.month);
  const cells = new Map<string, ReviewCell>();
  const cell = (product: string, month: Month): ReviewCell => {
    const key = `${month}|${product}`;
    let c = cells.get(key);
    if (!c) {
      c = { product, month, generatedAt: null, decision: null, openTodos: 0, doneTodos: 0 };
      cells.set(key, c);
    }
    return c;
  };
  for (const m of monthSet) for (const p of products) cell(p, m);
  for (const r of reviews)
    if (cells.has(`${r.month}|${r.product}`)) cell(r.product, r.month).generatedAt = r.generatedAt;
  for (const d of decisions)
    if (cells.has(`${d.month}|${d.product}`)) cell(d.product, d.month).decision = d.outcome;
  for (const t of todos) {
    if (!cells.has(`${t.month}|${t.product}`)) continue;
    const c = cell(t.product, t.month);
    c.openTodos = Number(t.open);
    c.doneTodos = Number(t.done);
  }
  return { months: [...monthSet].sort().reverse(), products, cells };
}

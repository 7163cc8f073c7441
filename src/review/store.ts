import type { Review } from '../domain/review.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';

/** Keeps the latest review of each (product, month), so the API and the next review can read it. */
export async function storeReview(engine: Engine, review: Review): Promise<void> {
  await engine.upsert(
    'reviews',
    [
      {
        product: review.product,
        month: review.month,
        generated_at: review.generatedAt,
        review: JSON.stringify(review),
      },
    ],
    ['product', 'month'],
  );
}

export async function loadReview(engine: Engine, product: string, month: string): Promise<Review | null> {
  const [row] = await engine.query<{ review: string }>(
    sql`SELECT review FROM reviews WHERE product = ${product} AND month = ${month}`,
  );
  return row ? (JSON.parse(row.review) as Review) : null;
}

import type { Review } from '../domain/review.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';

/** Keeps the latest review of each (product, month), so the API and the next review can read it. */
export async function storeReview(engine: Engine, review: Review): Promise<void> {
  await engine.exec(sql`DELETE FROM reviews WHERE product = ${review.product} AND month = ${review.month}`);
  await engine.exec(
    sql`INSERT INTO reviews (product, month, generated_at, review)
        VALUES (${review.product}, ${review.month}, ${new Date(review.generatedAt)}, ${JSON.stringify(review)})`,
  );
}

export async function loadReview(engine: Engine, product: string, month: string): Promise<Review | null> {
  const [row] = await engine.query<{ review: string }>(
    sql`SELECT review FROM reviews WHERE product = ${product} AND month = ${month}`,
  );
  return row ? (JSON.parse(row.review) as Review) : null;
}

import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';

export interface StoredReviewEntry {
  product: string;
  month: string;
  generatedAt: string;
}

/** The stored reviews (review/store.ts keeps the latest of each product and month), newest month first. */
export async function listReviews(engine: Engine): Promise<StoredReviewEntry[]> {
  const rows = await engine.query<{ product: string; month: string; generated_at: string }>(
    sql`SELECT product, month, generated_at FROM reviews ORDER BY month DESC, product`,
  );
  return rows.map((r) => ({ product: r.product, month: r.month, generatedAt: r.generated_at }));
}

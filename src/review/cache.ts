/**
 * The review cache (docs/performance.md, "Review cache"): the part of a review that only the
 * imported data, the config and the code decide — data coverage, metrics, anomalies, deep dives,
 * highlights, the launches judged — is stored under a key, and a later build of the same product and month reuses it
 * while the key is unchanged. The key hashes:
 * - every row of the import ledger (`imports`): every import, the capture server's batches and
 *   Stripe webhooks write or update a row in the same transaction as their data, and an
 *   interrupted import's row changes when it is finished, so any change to the data changes it;
 * - the launches recorded with `sextant launch` (the review judges those of its last months);
 * - the config, the product and the month; while the month is not over, today's date (the data
 *   coverage says how much of it the data covers so far);
 * - the code: the package version and a hash of the compiled modules beside this one, so a new
 *   build never reads what an older one wrote.
 * What depends on anything else (the decision loop's `previous`, which reads decisions, to-dos
 * and stored reviews; the to-dos linked to each launch) is computed on every build, and
 * `generatedAt` is the build's clock: a cached review is byte for byte the review an uncached
 * build would write at that moment.
 *
 * The cache is one row per (product, month) in `review_cache`; a store without that table (an
 * engine whose schema does not have it yet) simply builds every time.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { monthEnd, type Month } from '../domain/month.js';
import type { LaunchReview, Review } from '../domain/review.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';

/** The cached part of a review: what only data, config and code decide. */
export type CachedReviewPart = Pick<
  Review,
  'dataCoverage' | 'metrics' | 'anomalies' | 'deepDives' | 'highlights'
> & {
  /** The launches judged, before their to-dos are linked. */
  launches: Omit<LaunchReview, 'todos'>[];
};

/** Bumped when the cached part's shape or the key's recipe changes. */
const CACHE_FORMAT = 2;

let codeHash: string | undefined;

/**
 * A hash of the code that builds reviews: every module of the package (`dist/**.js` when built,
 * `src/**.ts` under the tests), read once per process.
 */
export function codeFingerprint(): string {
  if (codeHash !== undefined) return codeHash;
  const here = dirname(fileURLToPath(import.meta.url));
  const root = dirname(here);
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(ext) && !e.name.endsWith(`.test${ext}`)) files.push(p);
    }
  };
  walk(root);
  const h = createHash('sha256');
  for (const f of files.sort()) {
    h.update(f.slice(root.length));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  codeHash = h.digest('hex');
  return codeHash;
}

/** True when the store has the cache table. */
async function hasCacheTable(engine: Engine): Promise<boolean> {
  const [row] = await engine.query<{ n: number }>(
    sql`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'review_cache'`,
  );
  return Number(row?.n ?? 0) > 0;
}

/**
 * The cache key of (product, month) on the store as it is now, or null when the store keeps no
 * cache. Ledger rows are read in a total order and with every column, as text.
 */
export async function reviewCacheKey(
  engine: Engine,
  config: Config,
  product: string,
  month: Month,
  now: Date,
): Promise<string | null> {
  if (!(await hasCacheTable(engine))) return null;
  const ledger = await engine.query<Record<string, unknown>>(
    sql`SELECT source, kind, imported_at, finished_at, records, inserted, updated, duplicates,
          CAST(duplicate_rules AS VARCHAR) AS duplicate_rules, skipped,
          CAST(skipped_types AS VARCHAR) AS skipped_types, rejected, rejects_file
        FROM imports
        ORDER BY imported_at, kind, source, records, inserted, finished_at`,
  );
  const launches = await engine.query<Record<string, unknown>>(sql`SELECT * FROM launches ORDER BY id`);
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      format: CACHE_FORMAT,
      code: codeFingerprint(),
      engine: engine.name,
      product,
      month,
      // The data coverage reads the clock only to tell how much of a month not yet over is
      // covered: once the month is over the review no longer depends on it.
      clock: now >= monthEnd(month) ? 'month over' : now.toISOString().slice(0, 10),
      config,
      ledger: ledger.map((r) => Object.values(r)),
      launches,
    }),
  );
  return h.digest('hex');
}

/** The cached part stored under `key` for (product, month), or null. */
export async function readCachedReview(
  engine: Engine,
  product: string,
  month: Month,
  key: string,
): Promise<CachedReviewPart | null> {
  const [row] = await engine.query<{ payload: string | CachedReviewPart }>(
    sql`SELECT CAST(payload AS VARCHAR) AS payload FROM review_cache
        WHERE product = ${product} AND month = ${month} AND cache_key = ${key}`,
  );
  if (!row) return null;
  return typeof row.payload === 'string' ? (JSON.parse(row.payload) as CachedReviewPart) : row.payload;
}

/** Stores `part` under `key`, replacing the product and month's entry. Two statements: run it exclusively. */
export async function writeCachedReview(
  engine: Engine,
  product: string,
  month: Month,
  key: string,
  part: CachedReviewPart,
  builtAt: Date,
): Promise<void> {
  // Replace by key on every engine (DuckDB: delete and insert in one transaction; ClickHouse: a
  // newer version of the row).
  await engine.upsert(
    'review_cache',
    [{ product, month, cache_key: key, built_at: builtAt, payload: JSON.stringify(part) }],
    ['product', 'month'],
  );
}

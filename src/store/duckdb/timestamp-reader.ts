/**
 * How the store reads timestamp texts that `commonTimestampMicros` (ingest/posthog/rules.ts) does
 * not know — `2024/01/01`, `2024-1-1`, `… America/New_York`, `infinity` — asked of an in-memory
 * DuckDB of its own: the capture API then accepts exactly what the importer stores, without
 * touching the store. Rare (SDKs send `…Z`), so one small query per request that has any.
 */
import type { TimestampReading } from '../../ingest/posthog/rules.js';
import { sql } from '../sql.js';
import { DuckDbEngine } from './engine.js';

export class TimestampReader {
  #engine: Promise<DuckDbEngine> | undefined;

  /** The reading of each text, as the events importer's `try_cast(text AS TIMESTAMPTZ)` gives it. */
  async read(texts: readonly string[]): Promise<Map<string, TimestampReading>> {
    const out = new Map<string, TimestampReading>();
    if (texts.length === 0) return out;
    this.#engine ??= DuckDbEngine.open(':memory:');
    const engine = await this.#engine;
    const rows = await engine.query<{
      t: string;
      us: number | string | null;
      inf: number | null;
      not_date: boolean;
    }>(
      sql`SELECT t, CASE WHEN isfinite(ts) THEN epoch_us(ts) END AS us,
          CASE WHEN ts IS NOT NULL AND NOT isfinite(ts) THEN (CASE WHEN ts > TIMESTAMPTZ '1970-01-01' THEN 1 ELSE -1 END) END AS inf,
          coalesce(regexp_matches(t, '^\\d{4}-\\d\\d-\\d\\d') AND try_cast(left(t, 10) AS DATE) IS NULL, false) AS not_date
        FROM (SELECT t, try_cast(t AS TIMESTAMPTZ) AS ts FROM unnest(${[...new Set(texts)]}) u(t))`,
    );
    for (const r of rows) {
      const us = r.inf !== null ? r.inf * Infinity : r.us === null ? null : Number(r.us);
      out.set(r.t, us === null ? { us: null, notDate: r.not_date } : { us });
    }
    return out;
  }

  async close(): Promise<void> {
    const e = this.#engine;
    this.#engine = undefined;
    if (e) await (await e).close();
  }
}

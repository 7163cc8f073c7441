/**
 * The conformance suite's two stores: data is built on DuckDB by the real importers (or the
 * tests' own inserters), then copied to ClickHouse in-process (chdb) with `sextant migrate`'s copy
 * (store/copy.ts), so both engines hold the same rows. `onBoth` runs the same code on each and
 * returns both answers for the test to compare whole.
 */
import type { Engine } from '../../src/store/engine.js';
import { copyStore } from '../../src/store/copy.js';
import { openChdb } from '../../src/store/clickhouse/test-chdb.js';

export interface Pair {
  duckdb: Engine;
  clickhouse: Engine;
  close(): Promise<void>;
}

/** A ClickHouse copy of `duckdb` (which stays open and owned by the caller). */
export async function withClickHouseCopy(duckdb: Engine): Promise<Pair> {
  const clickhouse = await openChdb();
  await copyStore(duckdb, clickhouse);
  return {
    duckdb,
    clickhouse,
    async close() {
      await clickhouse.close();
    },
  };
}

export async function onBoth<T>(
  p: Pair,
  run: (e: Engine) => Promise<T>,
): Promise<{ duckdb: T; clickhouse: T }> {
  return { duckdb: await run(p.duckdb), clickhouse: await run(p.clickhouse) };
}

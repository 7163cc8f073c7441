/**
 * The conformance suite's twin engine: a DuckDB store that answers every read twice, on DuckDB and
 * on a ClickHouse copy of it (chdb, in-process), and fails when the two answers differ.
 *
 * Test data is written to DuckDB the way each test writes it (its own inserts, the real importers);
 * before the next read, what changed is copied to ClickHouse with the same copy as `sextant migrate`
 * (store/copy.ts). The twin's dialect spells every fragment for both engines (`perEngine`), so the
 * code under test builds its queries once and each engine runs its own spelling. A read returns
 * ClickHouse's rows, so the test's own hand-computed expectations are checked on ClickHouse too.
 *
 * On when SEXTANT_TWIN=clickhouse (the `clickhouse` project of vitest.config.ts, which reruns the
 * metric, insight and deep-dive tests that way); otherwise `maybeTwin` returns the engine as is.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClickHouseEngine } from '../../src/store/clickhouse/engine.js';
import { openChdb } from '../../src/store/clickhouse/test-chdb.js';
import type { Dialect } from '../../src/store/dialect.js';
import type { Engine, Row } from '../../src/store/engine.js';
import { ident, perEngine, raw, sql, type Sql } from '../../src/store/sql.js';

export const TWIN_ON = process.env.SEXTANT_TWIN === 'clickhouse';

/** A dialect whose every fragment carries both engines' spellings. */
function twinDialect(a: Dialect, b: Dialect): Dialect {
  type Method = (...args: unknown[]) => Sql;
  const methods = (d: Dialect) => d as unknown as Record<string | symbol, unknown>;
  return new Proxy(a, {
    get(target, key) {
      const fa = methods(target)[key];
      const fb = methods(b)[key];
      if (typeof fa !== 'function') return fa;
      return (...args: unknown[]) =>
        perEngine({ [a.name]: (fa as Method).apply(a, args), [b.name]: (fb as Method).apply(b, args) });
    },
  });
}

/** True when the statement's last clause at depth 0 is an ORDER BY: its row order is part of the answer. */
function ordered(text: string): boolean {
  let depth = 0;
  let last = -1;
  const upper = text.toUpperCase();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && upper.startsWith('ORDER BY', i)) last = i;
    else if (
      depth === 0 &&
      last >= 0 &&
      /^(UNION|SELECT|FROM|WHERE|GROUP BY|HAVING)\b/.test(upper.slice(i, i + 9))
    )
      last = -1;
  }
  return last >= 0;
}

const WRITE = /^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|BEGIN|COMMIT|ROLLBACK|CHECKPOINT)\b/i;

/** ClickHouse databases of this process, reused by later twins (a fresh one costs a migration). */
const pool: { ch: ClickHouseEngine; nonEmpty: Set<string> }[] = [];

async function copyChanged(
  duck: Engine,
  slot: { ch: ClickHouseEngine; nonEmpty: Set<string> },
): Promise<void> {
  const tables = (await duck.tables()).filter((t) => t.name !== 'schema_migrations');
  const counts = await duck.query<{ t: string; n: number }>(
    sql`${raw(tables.map((t) => `SELECT '${t.name}' AS t, count(*) AS n FROM "${t.name}"`).join(' UNION ALL '))}`,
  );
  for (const t of tables) {
    const n = Number(counts.find((c) => c.t === t.name)?.n ?? 0);
    if (slot.nonEmpty.has(t.name)) await slot.ch.truncate(t.name);
    slot.nonEmpty.delete(t.name);
    if (n === 0) continue;
    for await (const batch of duck.scan(t.name, t.columns, 50_000)) await slot.ch.insert(t.name, batch);
    slot.nonEmpty.add(t.name);
    const [copied] = await slot.ch.query<{ n: number }>(sql`SELECT count(*) AS n FROM ${ident(t.name)}`);
    if (Number(copied?.n) !== n)
      throw new Error(`twin: ${t.name} has ${n} rows on DuckDB, ${copied?.n} on ClickHouse`);
  }
}

export class EnginesDiffer extends Error {}

/** `duck` answering every read on ClickHouse too (see the file comment). */
export async function twin<E extends Engine>(duck: E): Promise<E> {
  const slot = pool.pop() ?? { ch: await openChdb(), nonEmpty: new Set<string>() };
  let dirty = true;
  let closed = false;
  const dialect = twinDialect(duck.dialect, slot.ch.dialect);
  const read = async (q: Sql): Promise<Row[]> => {
    if (dirty) {
      await copyChanged(duck, slot);
      dirty = false;
    }
    const [a, b] = [await duck.query<Row>(q), await slot.ch.query<Row>(q)];
    const text = q.render(() => '?', 'duckdb').text;
    const canon = (rows: Row[]) => {
      const json = rows.map((r) => JSON.stringify(r));
      return ordered(text) ? json : json.sort();
    };
    if (!isDeepStrictEqual(canon(a), canon(b))) {
      const [ja, jb] = [canon(a), canon(b)];
      const i = ja.findIndex((x, k) => x !== jb[k]);
      throw new EnginesDiffer(
        `ClickHouse and DuckDB differ (${a.length} vs ${b.length} rows; first difference at row ${i}):\n` +
          `  duckdb:     ${ja[i] ?? '(none)'}\n  clickhouse: ${jb[i] ?? '(none)'}\n` +
          `on: ${text.replace(/\s+/g, ' ').slice(0, 1500)}`,
      );
    }
    return b;
  };
  return new Proxy(duck, {
    // Methods and getters run on the engine itself (its #private fields are not the proxy's).
    get(target, key) {
      if (key === 'dialect') return dialect;
      if (key === 'query') {
        return async (q: Sql) => {
          if (WRITE.test(q.render(() => '?', 'duckdb').text)) {
            dirty = true;
            return target.query(q);
          }
          return read(q);
        };
      }
      if (key === 'close') {
        return async () => {
          if (closed) return;
          closed = true;
          await target.close();
          pool.push(slot);
        };
      }
      const v: unknown = Reflect.get(target, key);
      if (typeof v !== 'function') {
        if (key === 'connection') dirty = true; // raw DuckDB access: may write
        return v;
      }
      // Any other method (exec, insert, upsert, append, migrate…) may write: copy before the next read.
      return (...args: unknown[]) => {
        dirty = true;
        return (v as (...x: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The engine itself, or its twin when the suite runs against ClickHouse too. */
export function maybeTwin<E extends Engine>(e: E): Promise<E> {
  return TWIN_ON ? twin(e) : Promise.resolve(e);
}

import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbEngine } from './duckdb/engine.js';
import { buildScope, closeBuildScope, sharedRelation } from './build-scope.js';
import { readPool } from './pool.js';
import { sql } from './sql.js';

/** The read pool on a real DuckDB: its queries run on other connections and see only what is committed. */
let engine: DuckDbEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe('readPool', () => {
  it('reads on its own connections: an open transaction on the writer is invisible until its commit', async () => {
    engine = await DuckDbEngine.open(':memory:');
    await engine.exec(sql`CREATE TABLE t (x INTEGER)`);
    await engine.exec(sql`INSERT INTO t VALUES (1)`);
    const pool = readPool(engine, engine, 2);
    await engine.exec(sql`BEGIN TRANSACTION`);
    await engine.exec(sql`INSERT INTO t VALUES (2), (3)`);
    // The writer sees its own rows; the pool, on another connection, the committed state only.
    expect((await engine.query<{ n: number }>(sql`SELECT count(*) AS n FROM t`))[0]!.n).toBe(3);
    expect((await pool.query<{ n: number }>(sql`SELECT count(*) AS n FROM t`))[0]!.n).toBe(1);
    await engine.exec(sql`COMMIT`);
    expect((await pool.query<{ n: number }>(sql`SELECT count(*) AS n FROM t`))[0]!.n).toBe(3);
  });

  it('sends writes to the writer, runs more queries than connections in turn, and closes with the store', async () => {
    engine = await DuckDbEngine.open(':memory:');
    const pool = readPool(engine, engine, 2);
    await pool.exec(sql`CREATE TABLE t AS SELECT range AS x FROM range(100)`);
    const sums = await Promise.all(
      Array.from({ length: 7 }, (_, i) => pool.query<{ s: number }>(sql`SELECT sum(x) + ${i} AS s FROM t`)),
    );
    expect(sums.map((r) => Number(r[0]!.s))).toEqual([4950, 4951, 4952, 4953, 4954, 4955, 4956]);
    // The pool's queries really are on another connection: a temporary table of the writer's is not there.
    await engine.exec(sql`CREATE TEMP TABLE only_here (x INTEGER)`);
    await expect(pool.query(sql`SELECT * FROM only_here`)).rejects.toThrow(/only_here/);
    await engine.close();
    engine = undefined;
  });

  it("makes a build's shared tables on its own connections, and offers no connect when asked not to", async () => {
    engine = await DuckDbEngine.open(':memory:');
    await engine.exec(sql`CREATE TABLE t AS SELECT range AS x FROM range(10)`);
    // The writer holds a transaction open (in the server: the capture loader's import on the
    // store queue): making and dropping a shared table through the pool must not wait for it.
    await engine.exec(sql`BEGIN TRANSACTION`);
    await engine.exec(sql`INSERT INTO t VALUES (100)`);
    const pool = readPool(engine, engine, 2, { connect: false });
    expect('connect' in pool).toBe(false);
    expect('connect' in readPool(engine, engine, 2)).toBe(true);
    // A build on the pool (the server's reads) shares a table, not a subquery per query.
    const scoped = buildScope(pool, pool);
    const rel = await sharedRelation(scoped, 'big', sql`SELECT x FROM t WHERE x > ${4}`, 'b');
    expect(rel.toString()).toMatch(/^sextant_shared\."_build_\d+_big" AS b$/);
    // Made from the committed store (the writer's open insert is not in it), read by another connection.
    const other = await engine.connect();
    expect(await other.query(sql`SELECT count(*)::INTEGER AS n FROM ${rel}`)).toEqual([{ n: 5 }]);
    await closeBuildScope(scoped);
    await expect(other.query(sql`SELECT count(*) FROM ${rel}`)).rejects.toThrow(/_build_\d+_big/);
    await other.close();
    await engine.exec(sql`COMMIT`);
  });
});

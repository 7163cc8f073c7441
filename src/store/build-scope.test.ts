import { afterEach, describe, expect, it } from 'vitest';
import { buildScope, closeBuildScope, inBuildScope, sharedInBuild, sharedRelation } from './build-scope.js';
import { DuckDbEngine } from './duckdb/engine.js';
import { sql } from './sql.js';

/** A build's shared answers and tables, on a real DuckDB. */
let engine: DuckDbEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe('build scope', () => {
  it('computes a shared answer once per scope, afresh in another scope, every time outside one', async () => {
    engine = await DuckDbEngine.open(':memory:');
    let runs = 0;
    const compute = (): Promise<number> => Promise.resolve(++runs);
    const a = buildScope(engine);
    expect(inBuildScope(a)).toBe(true);
    expect(inBuildScope(engine)).toBe(false);
    // Asked side by side and after: one computation.
    expect(await Promise.all([sharedInBuild(a, 'k', compute), sharedInBuild(a, 'k', compute)])).toEqual([
      1, 1,
    ]);
    expect(await sharedInBuild(a, 'k', compute)).toBe(1);
    expect(await sharedInBuild(a, 'other', compute)).toBe(2);
    expect(await sharedInBuild(buildScope(engine), 'k', compute)).toBe(3);
    expect(await sharedInBuild(engine, 'k', compute)).toBe(4);
    expect(await sharedInBuild(engine, 'k', compute)).toBe(5);
  });

  it('makes a shared relation a table every connection reads, the same rows as its subquery, dropped on close', async () => {
    engine = await DuckDbEngine.open(':memory:');
    await engine.exec(sql`CREATE TABLE t AS SELECT range AS x, range % 3 AS g FROM range(10)`);
    const select = sql`SELECT g, sum(x) AS s FROM t WHERE x >= ${2} GROUP BY g`;
    const read = (rel: ReturnType<typeof sql>) => sql`SELECT r.g, r.s FROM ${rel} ORDER BY r.g`;

    // Outside a build, and in a build whose engine cannot share tables: the subquery.
    const inline = await sharedRelation(engine, 'sums', select, 'r');
    expect(inline.toString()).toContain('FROM t WHERE');
    const noTables = buildScope(engine);
    expect((await sharedRelation(noTables, 'sums', select, 'r')).toString()).toContain('FROM t WHERE');

    const scoped = buildScope(engine, engine);
    const rel = await sharedRelation(scoped, 'sums', select, 'r');
    expect(rel.toString()).toMatch(/^sextant_shared\."_build_\d+_sums" AS r$/);
    // Asked again: the same table, not another.
    expect((await sharedRelation(scoped, 'sums', select, 'r')).toString()).toBe(rel.toString());
    const expected = await engine.query(read(inline));
    expect(expected).toEqual([
      { g: 0, s: 18 },
      { g: 1, s: 11 },
      { g: 2, s: 15 },
    ]);
    expect(await engine.query(read(rel))).toEqual(expected);
    // Another connection of the store reads it too (the build's queries run on several).
    const other = await engine.connect();
    expect(await other.query(read(rel))).toEqual(expected);
    // Never one of the store's tables (copies, `sextant migrate`).
    expect((await engine.tables()).map((x) => x.name)).toEqual(['t']);

    await closeBuildScope(scoped);
    await expect(other.query(read(rel))).rejects.toThrow(/_build_\d+_sums/);
    await other.close();
  });
});

/**
 * What one review build computes once and shares between its metrics and deep dives.
 *
 * Several analyses of a build ask the store the same question (the per-customer revenue timeline
 * is read by top-customers, churn-reasons and icp-vs-non-icp). Inside a build the data is the
 * same for every one of them, so the answer is computed once, the first time it is asked, and
 * every later asker (side by side or after) gets the same promise. The scope is an engine: the
 * build wraps the engine it reads through in `buildScope`, and the shared answers live as long as
 * that wrapper (a WeakMap entry), so nothing outlives the build — a later build, the web app's
 * drill-downs or a test on the same store always compute afresh.
 *
 * Determinism: a shared answer must not depend on who asks first. Callers key it by everything
 * it depends on and compute the same superset whoever asks (customer-mrr.ts).
 */
import type { Engine } from './engine.js';
import { raw, sql, type Sql } from './sql.js';

interface Scope {
  answers: Map<string, Promise<unknown>>;
  /** Where shared tables are made (an engine with `shareTable`), or none: subqueries instead. */
  tables?: Engine;
  /** The shared tables made, to drop with the scope. */
  made: string[];
  /** The shared relations made so far, by key: what `madeRelation` reads. */
  ready: Map<string, Sql>;
}

const scopes = new WeakMap<Engine, Scope>();
let tableCount = 0;

/**
 * An engine like `engine` (every call delegated) that carries a build's shared answers. With
 * `tables` (an engine offering `shareTable`, e.g. the DuckDB store the build reads) the shared
 * relations of `sharedRelation` become tables every connection of the build reads; `closeBuildScope`
 * drops them.
 */
export function buildScope(engine: Engine, tables?: Engine): Engine {
  const scoped: Engine = {
    name: engine.name,
    dialect: engine.dialect,
    target: engine.target,
    query: (q) => engine.query(q),
    exec: (q) => engine.exec(q),
    migrate: () => engine.migrate(),
    close: () => engine.close(),
    tables: () => engine.tables(),
    scan: (table, columns, batchRows, where) => engine.scan(table, columns, batchRows, where),
    stageRows: (name, columns, rows) => engine.stageRows(name, columns, rows),
    dropStaged: (name) => engine.dropStaged(name),
    insert: (table, rows, o) => engine.insert(table, rows, o),
    upsert: (table, rows, key) => engine.upsert(table, rows, key),
    remove: (table, rows, key) => engine.remove(table, rows, key),
    truncate: (table) => engine.truncate(table),
    replace: (table, batches) => engine.replace(table, batches),
  };
  if (engine.connect) scoped.connect = engine.connect.bind(engine);
  scopes.set(scoped, {
    answers: new Map(),
    tables: tables?.shareTable && tables.dropSharedTable ? tables : undefined,
    made: [],
    ready: new Map(),
  });
  return scoped;
}

/** Drops the shared tables the scope made (the shared answers go with the scope itself). */
export async function closeBuildScope(engine: Engine): Promise<void> {
  const scope = scopes.get(engine);
  if (!scope) return;
  const made = scope.made.splice(0);
  // Settled first: a table being made when the build failed is dropped once made.
  await Promise.allSettled(scope.answers.values());
  for (const name of made) await scope.tables?.dropSharedTable?.(name);
}

/** Whether `engine` is a build's scope (`buildScope`): only then are answers shared. */
export function inBuildScope(engine: Engine): boolean {
  return scopes.has(engine);
}

/**
 * The build's answer to `key`, computed by `compute` the first time it is asked; outside a build
 * scope, `compute()` every time.
 */
export function sharedInBuild<T>(engine: Engine, key: string, compute: () => Promise<T>): Promise<T> {
  const shared = scopes.get(engine)?.answers;
  if (!shared) return compute();
  let p = shared.get(key) as Promise<T> | undefined;
  if (!p) {
    p = compute();
    shared.set(key, p);
  }
  return p;
}

/**
 * A relation holding `select`'s rows, to read in FROM: in a build scope with shared tables, a
 * table made once (the first time `key` is asked) that every connection of the build reads;
 * otherwise `(select) AS alias`, computed by each query that reads it. The same rows either way,
 * so a query reads the same answer whether the engine shares tables or not (ClickHouse does not;
 * the conformance suite compares the two).
 */
export async function sharedRelation(engine: Engine, key: string, select: Sql, alias: string): Promise<Sql> {
  const scope = scopes.get(engine);
  const tables = scope?.tables;
  if (!scope || !tables?.shareTable) return sql`(${select}) AS ${raw(alias)}`;
  const made = await sharedInBuild(engine, `table|${key}`, async () => {
    const name = `_build_${++tableCount}_${key.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;
    scope.made.push(name);
    // A store that cannot make one (opened read-only, say) is read through the subquery.
    const table = await tables.shareTable!(name, select).catch(() => null);
    if (table !== null) scope.ready.set(key, table);
    return table;
  });
  return made === null ? sql`(${select}) AS ${raw(alias)}` : sql`${made} AS ${raw(alias)}`;
}

/**
 * `sharedRelation` for a query built synchronously: the table when the build has made it already
 * (an earlier step asked for it), else the subquery. The same rows either way.
 */
export function madeRelation(engine: Engine, key: string, select: Sql, alias: string): Sql {
  const table = scopes.get(engine)?.ready.get(key);
  return table === undefined ? sql`(${select}) AS ${raw(alias)}` : sql`${table} AS ${raw(alias)}`;
}

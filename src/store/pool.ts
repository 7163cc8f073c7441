import type { Engine } from './engine.js';
import type { Sql } from './sql.js';

/**
 * An engine whose queries run on up to `size` further connections of the same store
 * (`Engine.connect`), opened when first needed, each running one statement at a time; every
 * other operation (statements that write, bulk loads, migrations) goes to `writes`.
 *
 * What this buys: a query never waits for the work on `writes` — in `sextant serve` the capture
 * loader's imports and the other writes, one at a time on the store queue — and the loader never
 * waits for a query, however long (a review's). A query sees what is committed when it starts: on
 * DuckDB an import in progress on `writes` is invisible until its COMMIT, then wholly visible.
 * Queries that arrive while every connection is busy wait for the first free one, in order.
 *
 * Without `connect` (an engine of one connection) queries go to `writes` too. `close` closes the
 * pool's connections, not `writes` nor the store (closing the store closes them as well).
 * `o.connect: false`: the pool offers no `connect` of its own, so that what takes further
 * connections when it can (a review build's side-by-side queries) runs on the pool's instead.
 */
export function readPool(base: Engine, writes: Engine, size: number, o: { connect?: boolean } = {}): Engine {
  if (!base.connect || size < 1) return writes;
  const connect = base.connect.bind(base);
  const idle: Engine[] = [];
  const all: Promise<Engine>[] = [];
  const waiting: ((e: Engine) => void)[] = [];
  let closed = false;

  const acquire = async (): Promise<Engine> => {
    const free = idle.pop();
    if (free) return free;
    if (all.length < size) {
      const opening = connect();
      all.push(opening);
      // A failed open leaves its slot to the next caller.
      opening.catch(() => all.splice(all.indexOf(opening), 1));
      return opening;
    }
    return new Promise<Engine>((resolve) => waiting.push(resolve));
  };
  const release = (e: Engine): void => {
    const next = waiting.shift();
    if (next) next(e);
    else idle.push(e);
  };
  /** `work` on a free connection of the pool, which is released when it settles. */
  const onOne = async <T>(work: (e: Engine) => Promise<T>): Promise<T> => {
    const e = await acquire();
    try {
      return await work(e);
    } finally {
      release(e);
    }
  };

  return {
    name: writes.name,
    dialect: writes.dialect,
    target: writes.target,
    async query<T>(q: Sql): Promise<T[]> {
      if (closed) return writes.query<T>(q);
      return onOne((e) => e.query<T>(q));
    },
    exec: (q) => writes.exec(q),
    migrate: () => writes.migrate(),
    tables: () => writes.tables(),
    scan: (table, columns, batchRows, where) => writes.scan(table, columns, batchRows, where),
    stageRows: (name, columns, rows) => writes.stageRows(name, columns, rows),
    dropStaged: (name) => writes.dropStaged(name),
    insert: (table, rows, o) => writes.insert(table, rows, o),
    upsert: (table, rows, key) => writes.upsert(table, rows, key),
    truncate: (table) => writes.truncate(table),
    remove: (table, rows, key) => writes.remove(table, rows, key),
    replace: (table, batches) => writes.replace(table, batches),
    ...(o.connect === false ? {} : { connect }),
    // A review build's shared tables (store/build-scope.ts), made and dropped on a connection
    // of the pool: every connection of the store reads them, and `writes` (in the server the
    // store queue, behind the capture loader) is never waited for.
    ...(base.shareTable && base.dropSharedTable
      ? {
          shareTable: (name: string, select: Sql) => onOne((e) => e.shareTable!(name, select)),
          dropSharedTable: (name: string) => onOne((e) => e.dropSharedTable!(name)),
        }
      : {}),
    async close(): Promise<void> {
      closed = true;
      const opened = await Promise.allSettled(all);
      for (const o of opened) if (o.status === 'fulfilled') await o.value.close();
    },
  };
}

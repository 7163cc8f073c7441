import type { Engine } from '../store/engine.js';
import type { Sql } from '../store/sql.js';

/**
 * Runs the server's store operations one at a time. The store is one DuckDB connection: an import
 * is several statements in a transaction (stage, classify, insert, identity) that another
 * request's statements must not land inside — a failing read there would abort the import, and a
 * second import would clobber its staging tables. Queued work runs in arrival order.
 */
export class StoreQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work);
    // The queue goes on whether this work failed or not; the caller sees the failure.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * `engine` with every statement run as its own turn on `queue`: the use cases' reads
 * (AppContext.engine) wait only for the statement running now, not for a whole review build, and
 * a capture import queued meanwhile goes in between two of the build's statements. Work that must
 * not be interleaved runs through `queue.run` with the bare engine (AppContext.exclusive).
 */
export function queuedEngine(engine: Engine, queue: StoreQueue): Engine {
  return {
    name: engine.name,
    dialect: engine.dialect,
    target: engine.target,
    query: <T>(q: Sql) => queue.run(() => engine.query<T>(q)),
    exec: (q: Sql) => queue.run(() => engine.exec(q)),
    migrate: () => queue.run(() => engine.migrate()),
    close: () => queue.run(() => engine.close()),
    tables: () => queue.run(() => engine.tables()),
    // A copy's read (sextant migrate), not a server use case: its batches are not queued.
    scan: (table, columns, batchRows, where) => engine.scan(table, columns, batchRows, where),
    stageRows: (name, columns, rows) => queue.run(() => engine.stageRows(name, columns, rows)),
    dropStaged: (name) => queue.run(() => engine.dropStaged(name)),
    insert: (table, rows, o) => queue.run(() => engine.insert(table, rows, o)),
    upsert: (table, rows, key) => queue.run(() => engine.upsert(table, rows, key)),
    truncate: (table) => queue.run(() => engine.truncate(table)),
    remove: (table, rows, key) => queue.run(() => engine.remove(table, rows, key)),
    replace: (table, batches) => queue.run(() => engine.replace(table, batches)),
  };
}

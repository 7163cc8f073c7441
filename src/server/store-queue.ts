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

/**
 * Runs store writes one at a time. DuckDB has a single writer, and an import is several statements
 * (stage, classify, insert, identity) that must not interleave with another request's.
 */
export class WriteQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work);
    // The queue goes on whether this write failed or not; the caller sees the failure.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

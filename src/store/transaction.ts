import type { Engine } from './engine.js';
import { raw } from './sql.js';

/** Runs `fn` in one transaction of `engine`: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(engine: Engine, fn: () => Promise<T>): Promise<T> {
  await engine.exec(raw('BEGIN TRANSACTION'));
  try {
    const result = await fn();
    await engine.exec(raw('COMMIT'));
    return result;
  } catch (e) {
    await engine.exec(raw('ROLLBACK'));
    throw e;
  }
}

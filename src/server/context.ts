import type { AppContext } from '../app/context.js';
import type { Engine } from '../store/engine.js';
import type { ServerDeps } from './app.js';
import { readPool } from '../store/pool.js';
import { queuedEngine } from './store-queue.js';

/** How many connections the server's reads use beside the store queue's (`readPool`). */
export const READ_CONNECTIONS = 2;

/**
 * The engine of the server's use cases: queries on their own connections of the store (a pool
 * of `READ_CONNECTIONS`), so they never wait for the capture loader's imports nor it for them;
 * single writing statements statement by statement on the store queue. Make one per server.
 */
export function serverReads(d: Pick<ServerDeps, 'engine' | 'queue'>): Engine {
  return readPool(d.engine, queuedEngine(d.engine, d.queue), READ_CONNECTIONS);
}

/**
 * The use cases' context in the server: queries on the read connections (`serverReads`, made
 * here when not given), writes statement by statement on the store queue, exclusive work as one
 * turn of it. The scheduler passes its own `log` (the server's output); the routes answer with
 * pages instead of logging.
 */
export function serverContext(
  d: Pick<ServerDeps, 'engine' | 'queue' | 'config' | 'now'> & { reads?: Engine },
  log: (line: string) => void = () => undefined,
): AppContext {
  return {
    engine: d.reads ?? serverReads(d),
    exclusive: (work) => d.queue.run(() => work(d.engine)),
    config: d.config,
    now: d.now,
    log,
  };
}

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
  // Without `connect`, a review built in the server runs its queries one after another (on
  // these connections) instead of side by side on more: with the store's threads limited
  // (`serve --db-threads`, default the cores less one) a build then leaves a core to the
  // requests, whose acknowledgements must not wait for it (docs/http.md, "Capture").
  return readPool(d.engine, queuedEngine(d.engine, d.queue), READ_CONNECTIONS, { connect: false });
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

import type { AppContext } from '../app/context.js';
import type { ServerDeps } from './app.js';
import { queuedEngine } from './store-queue.js';

/**
 * The use cases' context in the server: reads statement by statement on the store queue,
 * exclusive work as one turn. The scheduler passes its own `log` (the server's output); the
 * routes answer with pages instead of logging.
 */
export function serverContext(
  d: Pick<ServerDeps, 'engine' | 'queue' | 'config' | 'now'>,
  log: (line: string) => void = () => undefined,
): AppContext {
  return {
    engine: queuedEngine(d.engine, d.queue),
    exclusive: (work) => d.queue.run(() => work(d.engine)),
    config: d.config,
    now: d.now,
    log,
  };
}

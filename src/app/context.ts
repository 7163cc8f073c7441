/**
 * What every use case runs with. The CLI, the demo, the web app, the JSON API and the scheduler
 * each make one `AppContext` and call the use cases of this folder; none calls another face.
 */
import type { Config } from '../config/schema.js';
import type { Engine } from '../store/engine.js';

export interface AppContext {
  /**
   * The store, for reads and single statements. In the server queries run on connections of
   * their own and writing statements take their turn on the store queue (server/context.ts), so
   * a long review build and the capture loader never wait for each other.
   */
  engine: Engine;
  /**
   * Runs `work` with nothing else touching the store until it settles: for several statements
   * that belong together (replace a decision, store a review, finish an interrupted import).
   * `work` must use the engine it is given.
   */
  exclusive<T>(work: (engine: Engine) => Promise<T>): Promise<T>;
  config: Config;
  /** The clock: a review's `generatedAt`, when a decision was taken, the scheduler's "now". */
  now(): Date;
  /** Progress lines (the CLI shows them on a terminal or with --verbose). */
  log(line: string): void;
}

/** A context on an engine nothing else uses at the same time (the CLI, the demo, tests). */
export function directContext(
  engine: Engine,
  config: Config,
  opts: { now?: () => Date; log?: (line: string) => void } = {},
): AppContext {
  return {
    engine,
    exclusive: (work) => work(engine),
    config,
    now: opts.now ?? (() => new Date()),
    log: opts.log ?? (() => undefined),
  };
}

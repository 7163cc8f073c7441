import { existsSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { Engine } from './engine.js';

/**
 * `--db` targets: a DuckDB file path (the default) or a `clickhouse://` URL.
 * Engines load lazily so the ClickHouse client is only imported when used.
 */
export const DEFAULT_DB = '.sextant/sextant.duckdb';

export interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /**
   * Create the store when it does not exist (default true). Read commands pass false (SPEC §2: a
   * read command on a target that does not exist is an error), so a mistyped `--db` is said, not
   * silently created empty — `review` then wrote a review of zeros over the real one.
   */
  create?: boolean;
}

const factories: Record<string, (target: string, opts: { create: boolean }) => Promise<Engine>> = {
  duckdb: async (target, { create }) => {
    if (!create && target !== ':memory:' && !existsSync(target)) {
      throw new InputError(
        `no store at ${target}: import data first (\`sextant import events|stripe|subscriptions|feedback <file>\`) or try \`sextant demo\`, or point --db at an existing store`,
        { field: '--db' },
      );
    }
    const { DuckDbEngine } = await import('./duckdb/engine.js');
    return DuckDbEngine.open(target);
  },
};

export async function openEngine(
  target: string = DEFAULT_DB,
  { migrate = true, create = true }: OpenOptions = {},
): Promise<Engine> {
  const scheme = /^([a-z]+):\/\//.exec(target)?.[1];
  const kind = scheme ?? 'duckdb';
  const factory = factories[kind];
  if (!factory) {
    throw new InputError(
      `unknown store '${scheme}://': use a DuckDB file path or ${
        Object.keys(factories)
          .filter((k) => k !== 'duckdb')
          .map((k) => k + '://')
          .join(', ') || 'clickhouse:// (not available in this build)'
      }`,
      { field: '--db' },
    );
  }
  const engine = await factory(target, { create });
  if (migrate) await engine.migrate();
  return engine;
}

import { InputError } from '../errors.js';
import type { Engine } from './engine.js';

/**
 * `--db` targets: a DuckDB file path (the default) or a `clickhouse://` URL.
 * Engines load lazily so the ClickHouse client is only imported when used.
 */
export const DEFAULT_DB = '.sextant/sextant.duckdb';

const factories: Record<string, (target: string) => Promise<Engine>> = {
  duckdb: async (target) => {
    const { DuckDbEngine } = await import('./duckdb/engine.js');
    return DuckDbEngine.open(target);
  },
};

export async function openEngine(target: string = DEFAULT_DB, { migrate = true } = {}): Promise<Engine> {
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
  const engine = await factory(target);
  if (migrate) await engine.migrate();
  return engine;
}

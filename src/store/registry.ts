import { existsSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { Engine } from './engine.js';
import type { EventImportSteps } from './event-import.js';

/**
 * `--db` targets (SPEC §2): a DuckDB file path (the default), `clickhouse://…` (a server or
 * cluster) or `chdb:<dir>` (ClickHouse in-process). Engines load lazily, so the ClickHouse client
 * and chdb are only imported when used. A third engine is a folder under `store/` and a line here
 * (and one in `importSteps` when it loads event files itself).
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
  clickhouse: async (target, { create }) => {
    const [{ ClickHouseEngine }, { parseClickHouseTarget }] = await Promise.all([
      import('./clickhouse/engine.js'),
      import('./clickhouse/target.js'),
    ]);
    return ClickHouseEngine.open(parseClickHouseTarget(target), { create });
  },
};
/** `chdb:<dir>` is ClickHouse too, reached in-process. */
const SCHEMES: Record<string, string> = { clickhouse: 'clickhouse', chdb: 'clickhouse' };

/** The scheme of a target (`clickhouse`, `chdb`), or undefined for a file path. */
export function schemeOf(target: string): string | undefined {
  // Two letters at least, so a Windows drive (`C:\…`) stays a path.
  return /^([a-z][a-z0-9+.-]+):/i.exec(target)?.[1]?.toLowerCase();
}

export async function openEngine(
  target: string = DEFAULT_DB,
  { migrate = true, create = true }: OpenOptions = {},
): Promise<Engine> {
  const scheme = schemeOf(target);
  const kind = scheme === undefined ? 'duckdb' : SCHEMES[scheme];
  const factory = kind === undefined ? undefined : factories[kind];
  if (!factory) {
    throw new InputError(
      `unknown store '${scheme}:': use a DuckDB file path, clickhouse://[user[:password]@]host:port/database[?cluster=NAME] or chdb:<dir>`,
      { field: '--db' },
    );
  }
  const engine = await factory(target, { create });
  if (migrate) await engine.migrate();
  return engine;
}

/**
 * Engines that load event files themselves, and their steps (store/event-import.ts): made for
 * the engine object the importer holds, loaded only when an import asks. The others import on
 * a DuckDB stage of the store (staging.ts `withImportStore`).
 */
const importSteps: Record<string, (engine: Engine) => Promise<EventImportSteps>> = {
  duckdb: async (engine) => {
    const { DuckDbEventImport } = await import('./duckdb/ingest-events.js');
    return new DuckDbEventImport(engine);
  },
};

/** The steps of one events import on `engine`, or undefined when it has none of its own. */
export async function eventImportSteps(engine: Engine): Promise<EventImportSteps | undefined> {
  return importSteps[engine.name]?.(engine);
}

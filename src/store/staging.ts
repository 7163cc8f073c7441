/**
 * Imports into a store whose engine has no importers of its own yet (ClickHouse): the importers
 * run unchanged on a DuckDB copy of the store (a scratch file), then every table the import
 * changed is written back, each one atomically (`Engine.replace`), then `events`, the import
 * ledger last. `events` is appended to, not replaced: an import only adds events (identity merges
 * are overrides, never rewrites: docs/ingest.md "Identity"), checked by hashing the rows stored
 * before (`appendedOnly`; anything else falls back to replacing the table).
 *
 * Why it is right: the import runs the very code a DuckDB store runs (dedupe, identity, ledger)
 * on the very rows the target holds, so the target ends with the rows DuckDB would hold. A kill
 * before the write-back leaves the target as it was; a kill during it leaves some tables new
 * (identity before events: a re-run resolves identity only from the events it stores, so the
 * merges of events already appended must be back already), some events appended and the ledger
 * old, and running the import again stores nothing twice (it dedupes against the rows already
 * written back) and records it.
 *
 * What it costs: the whole store is copied out on every import and the changed tables other than
 * `events` copied back, so an import takes time in proportion to the store, not to the file.
 * Right for a small team's store and for the tests; a store of billions of events needs the
 * importers to write to ClickHouse directly (docs/clickhouse.md, "What is not done yet"). One
 * import at a time: two concurrent staged imports would each write back their own copy.
 */
import { join } from 'node:path';
import { copyStore } from './copy.js';
import type { Engine } from './engine.js';
import { removeScratch, scratchDir } from './scratch.js';
import { ident, raw, sql } from './sql.js';

/** Engines whose stores the importers write directly. */
const NATIVE_IMPORT = new Set<string>(['duckdb']);

/** The import ledger: written back after every other table (see the file comment). */
const LEDGER = 'imports';
/**
 * Written back last but the ledger, and appended to, not replaced, when the import only added
 * events (`appendedOnly`). Last, because a re-run after a kill resolves identity only from events
 * it stores: the identity tables must be back before the events that stand for their merges.
 */
const EVENTS = 'events';
const NEW_EVENTS = '_stage_new_events';

export interface StagedOptions {
  onProgress?: (line: string) => void;
  /**
   * Tables the import neither reads nor writes (a billing or feedback import and `events`): not
   * copied into the stage, so their size costs nothing. An import that writes one anyway is
   * stopped before anything is written back (its stage copy was empty).
   */
  without?: readonly string[];
}

/** Runs `fn` (an import) on `target`, or on a DuckDB stage of it written back after (see above). */
export async function withImportStore<T>(
  target: Engine,
  fn: (e: Engine) => Promise<T>,
  o: StagedOptions = {},
): Promise<T> {
  if (NATIVE_IMPORT.has(target.name)) return fn(target);
  const dir = scratchDir(target.target);
  try {
    // The registry opens DuckDB lazily; a static import would load it for every ClickHouse user.
    const { openEngine } = await import('./registry.js');
    const stage = await openEngine(join(dir, 'stage.duckdb'));
    try {
      o.onProgress?.(`staging ${target.target} in DuckDB for the import`);
      await copyStore(target, stage, { skip: o.without });
      const before = await fingerprints(stage);
      const [last] = await stage.query<{ t: string | null }>(
        raw('SELECT CAST(max(imported_at) AS VARCHAR) AS t FROM events'),
      );
      const result = await fn(stage);
      const after = await fingerprints(stage);
      const tables = (await stage.tables())
        .filter((t) => before.get(t.name) !== after.get(t.name))
        .sort((a, b) => writeOrder(a.name) - writeOrder(b.name));
      const unstaged = tables.filter((t) => o.without?.includes(t.name)).map((t) => t.name);
      if (unstaged.length) {
        throw new Error(
          `the import wrote ${unstaged.join(', ')}, which it was not staged with: nothing written back`,
        );
      }
      for (const t of tables) {
        if (t.name === EVENTS && (await appendedOnly(stage, last?.t ?? null, before.get(EVENTS)))) {
          const [n] = await stage.query<{ n: number }>(raw(`SELECT count(*) AS n FROM ${NEW_EVENTS}`));
          o.onProgress?.(`appending ${n?.n ?? 0} events`);
          for await (const rows of stage.scan(NEW_EVENTS, t.columns, 50_000))
            await target.insert(EVENTS, rows);
          continue;
        }
        o.onProgress?.(`writing back ${t.name}`);
        await target.replace(t.name, stage.scan(t.name, t.columns, 50_000));
      }
      return result;
    } finally {
      await stage.close();
    }
  } finally {
    removeScratch(dir);
  }
}

/**
 * Whether the import only appended to `events`: the rows imported up to `last` (the latest
 * `imported_at` before it) hash as the whole table did before. Events are append-only (identity
 * merges are overrides, docs/ingest.md "Identity"; an import removes only its own doubles), so
 * this is the rule; a clock that went back, or anything else, falls back to the whole table.
 * When true, `_stage_new_events` (a table of the scratch stage) holds the appended rows.
 */
async function appendedOnly(
  stage: Engine,
  last: string | null,
  before: string | undefined,
): Promise<boolean> {
  const newer = last === null ? raw('true') : sql`imported_at > CAST(${last} AS TIMESTAMPTZ)`;
  const older = last === null ? raw('false') : sql`imported_at <= CAST(${last} AS TIMESTAMPTZ)`;
  const [row] = await stage.query<{ n: number; h: string | null }>(
    sql`SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM (SELECT * FROM events WHERE ${older}) AS t`,
  );
  if (`${row?.n}:${row?.h}` !== before) return false;
  await stage.exec(sql`CREATE OR REPLACE TABLE ${raw(NEW_EVENTS)} AS SELECT * FROM events WHERE ${newer}`);
  return true;
}

/** The other changed tables first (any order), then events, then the ledger. */
function writeOrder(table: string): number {
  return table === LEDGER ? 2 : table === EVENTS ? 1 : 0;
}

/** Each table's row count and an order-independent hash of its rows (the stage is DuckDB). */
async function fingerprints(stage: Engine): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of await stage.tables()) {
    const [row] = await stage.query<{ n: number; h: string | null }>(
      sql`SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM ${ident(t.name)} AS t`,
    );
    out.set(t.name, `${row?.n}:${row?.h}`);
  }
  return out;
}

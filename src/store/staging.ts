/**
 * Imports into a store whose engine has no importers of its own yet (ClickHouse's events and
 * subscription CSV imports; Stripe and feedback store through `Engine.loadKeyed` and run on the
 * store itself, `keyedOnly`): the importers
 * run unchanged on a DuckDB stage of the store (a scratch file), then every table the import
 * changed is written back, each one atomically (`Engine.replace`), then the new `events`
 * (appended), the import ledger last.
 *
 * `events` is not copied into the stage (`keyed`, the default): the events importer reads of the
 * stored events only what is keyed by the records it is about to store, and asks for exactly
 * that before each batch (`stageStoredEvents`): the stored events with the batch's uuids (a
 * stored uuid is a duplicate), the events of every distinct_id of the persons the batch's
 * distinct_ids and merge ids map to, and the events written with those persons (the person
 * refresh recomputes each touched person from all its events; the overrides check an id's
 * events), and the stored `$groupidentify` events when the batch has any (the group refresh).
 * Those keys go to the store as scratch tables (`Engine.stageRows`) and the events come back by
 * a keyed scan (`Engine.scan(…, where)`), so an import of a file of new people reads next to
 * nothing of a large store. An import that does not read events (`without: ['events']`: billing,
 * feedback) stages none of them.
 *
 * Why it is right: the import runs the very code a DuckDB store runs (dedupe, identity, ledger)
 * on the rows of the target it can read, so the target ends with the rows DuckDB would hold. A
 * kill before the write-back leaves the target as it was; a kill during it leaves some tables new
 * (identity before events: a re-run resolves identity only from the events it stores, so the
 * merges of events already appended must be back already), some events appended and the ledger
 * old, and running the import again stores nothing twice (it dedupes against the rows already
 * written back) and records it. Events are append-only (identity merges are overrides, never
 * rewrites: docs/ingest.md "Identity"): an import that changed a stored event it was given is
 * stopped before anything is written back.
 *
 * Rows cross between the stage and the target as Parquet files when the target can take them
 * (`Engine.appendParquet`, `Engine.scanToParquet`: the keys, the stored events read back, the new
 * events in batches), so no event passes through JS.
 *
 * What it costs: the tables other than `events` (identity, persons, groups, billing, the ledger)
 * are copied out whole, and those the import changed written back as changes. Right for a small
 * team's store and for the tests; docs/clickhouse.md, "What is not done yet", says what is next.
 * One import at a time: two concurrent staged imports would each write back their own copy.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { copyStore } from './copy.js';
import { idText } from './duckdb/ingest-identity.js';
import type { Engine, TableInfo } from './engine.js';
import { EVENT_COLUMNS } from './events.js';
import { faultPoint } from './fault.js';
import { removeScratch, scratchDir } from './scratch.js';
import { ident, raw, sql, type Sql } from './sql.js';

/** Engines whose stores the importers write directly. */
const NATIVE_IMPORT = new Set<string>(['duckdb']);

/** The import ledger: written back after every other table (see the file comment). */
const LEDGER = 'imports';
/** What identifies a ledger row (DuckDB's `imports` has no primary key; ClickHouse's is this). */
const LEDGER_KEY = ['source', 'kind', 'imported_at'] as const;
/**
 * Written back last but the ledger, and appended to, not replaced, when the import only added
 * events (`appendedOnly`). Last, because a re-run after a kill resolves identity only from events
 * it stores: the identity tables must be back before the events that stand for their merges.
 */
const EVENTS = 'events';
const NEW_EVENTS = '_stage_new_events';
/** How often a batch of new events is sent before the import gives up (see `appendNew`). */
const APPEND_ATTEMPTS = 3;
/**
 * Rows per Parquet file of new events (`Engine.appendParquet`): one insert, one dedup token.
 * `SEXTANT_APPEND_ROWS` sets it (the kill tests make several batches of a small file).
 */
const PARQUET_BATCH_ROWS = positiveInteger(process.env.SEXTANT_APPEND_ROWS) ?? 250_000;
/** A whole number above 0 from the environment, else undefined. */
function positiveInteger(text: string | undefined): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** A DuckDB string literal of our own text (a scratch file's path): quotes doubled. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Stage tables of a keyed stage: the stored events it was given (uuid, imported_at), a batch. */
const FETCHED = '_stage_fetched';
const FETCH = '_stage_fetch';
const SENT_IDS = '_stage_sent_ids';
const SENT_PERSONS = '_stage_sent_persons';
/** The key tables sent to the target (`Engine.stageRows`). */
const KEY_TABLES = {
  uuid: '_sextant_stage_uuids',
  id: '_sextant_stage_ids',
  person: '_sextant_stage_persons',
} as const;

export interface StagedOptions {
  onProgress?: (line: string) => void;
  /**
   * Tables the import neither reads nor writes (a billing or feedback import and `events`): not
   * copied into the stage, so their size costs nothing. An import that writes one anyway is
   * stopped before anything is written back (its stage copy was empty).
   */
  without?: readonly string[];
  /**
   * The import stores only through `Engine.loadKeyed` (and reads with SQL both engines run): the
   * Stripe and feedback importers. It runs on the target itself when the target has `loadKeyed`,
   * with no stage.
   */
  keyedOnly?: boolean;
}

/** A keyed stage: where its stored events come from, and what it was given of them. */
interface KeyedStage {
  target: Engine;
  onProgress?: (line: string) => void;
  /** Whether the stored `$groupidentify` events are in the stage already. */
  groupIdentifies: boolean;
  fetched: number;
  /** The import's scratch folder (Parquet files of keys sent to the target). */
  dir: string;
  /**
   * The target held no events when the stage was made: none can be keyed by a batch (one import
   * at a time, and the stage's new events are written back only after it), so none are asked for.
   */
  empty: boolean;
}
const keyedStages = new WeakMap<Engine, KeyedStage>();
/** Every stage while its import runs (`isImportStage`). */
const stages = new WeakSet<Engine>();

/**
 * Whether `engine` is the DuckDB stage of an import into another store. Its identity tables are
 * copies of the target's, which a kill during an earlier write-back can leave out of step (the
 * merges written back, the map not yet): the events importer recomputes the whole map on a stage
 * (store/duckdb/ingest-identity.ts `resolveIdentity`, `full`), as it did before it learnt to
 * recompute only where new merges reach.
 */
export function isImportStage(engine: Engine): boolean {
  return stages.has(engine);
}

/** Runs `fn` (an import) on `target`, or on a DuckDB stage of it written back after (see above). */
export async function withImportStore<T>(
  target: Engine,
  fn: (e: Engine) => Promise<T>,
  o: StagedOptions = {},
): Promise<T> {
  if (NATIVE_IMPORT.has(target.name) || (o.keyedOnly && target.loadKeyed)) return fn(target);
  const keyed = !o.without?.includes(EVENTS);
  const dir = scratchDir(target.target);
  try {
    // The registry opens DuckDB lazily; a static import would load it for every ClickHouse user.
    const { openEngine } = await import('./registry.js');
    const stage = await openEngine(join(dir, 'stage.duckdb'));
    stages.add(stage);
    try {
      o.onProgress?.(`staging ${target.target} in DuckDB for the import`);
      await copyStore(target, stage, { skip: keyed ? [...(o.without ?? []), EVENTS] : o.without });
      if (keyed) {
        await stage.exec(raw(`CREATE TABLE ${FETCHED} (uuid VARCHAR, imported_at TIMESTAMPTZ)`));
        await stage.exec(raw(`CREATE TABLE ${FETCH} AS SELECT * FROM events LIMIT 0`));
        await stage.exec(raw(`CREATE TABLE ${SENT_IDS} (id VARCHAR)`));
        await stage.exec(raw(`CREATE TABLE ${SENT_PERSONS} (id VARCHAR)`));
        const [any] = await target.query<{ n: number }>(
          raw('SELECT count(*) AS n FROM (SELECT 1 FROM events LIMIT 1) AS t'),
        );
        keyedStages.set(stage, {
          target,
          onProgress: o.onProgress,
          groupIdentifies: false,
          fetched: 0,
          dir,
          empty: Number(any?.n ?? 0) === 0,
        });
      }
      const skip = keyed ? [EVENTS] : [];
      const before = await fingerprints(stage, skip);
      const [last] = await stage.query<{ t: string | null }>(
        raw('SELECT CAST(max(imported_at) AS VARCHAR) AS t FROM events'),
      );
      const keys = await snapshot(stage, [...(o.without ?? []), EVENTS]);
      const result = await fn(stage);
      const after = await fingerprints(stage, skip);
      const tables = (await stage.tables())
        .filter((t) => before.get(t.name) !== after.get(t.name))
        .sort((a, b) => writeOrder(a.name) - writeOrder(b.name));
      const unstaged = tables.filter((t) => o.without?.includes(t.name)).map((t) => t.name);
      if (unstaged.length) {
        throw new Error(
          `the import wrote ${unstaged.join(', ')}, which it was not staged with: nothing written back`,
        );
      }
      const appended = keyed ? await newEvents(stage) : { n: 0, given: 0 };
      const writeBack = async (t: TableInfo): Promise<void> => {
        faultPoint(`stage: write back ${t.name}`);
        const key = keys.get(t.name);
        if (key) {
          await writeChanges(stage, target, t, key, o.onProgress);
          return;
        }
        o.onProgress?.(`writing back ${t.name}`);
        await target.replace(t.name, stage.scan(t.name, t.columns, 50_000));
      };
      for (const t of tables) {
        if (t.name === LEDGER) continue;
        if (t.name === EVENTS && (await appendedOnly(stage, last?.t ?? null, before.get(EVENTS)))) {
          const [n] = await stage.query<{ n: number }>(raw(`SELECT count(*) AS n FROM ${NEW_EVENTS}`));
          await appendNew(stage, target, { from: NEW_EVENTS, given: false }, n?.n ?? 0, dir, o.onProgress);
          continue;
        }
        await writeBack(t);
      }
      if (appended.n) {
        const source = { from: EVENTS, given: appended.given > 0 };
        await appendNew(stage, target, source, appended.n, dir, o.onProgress);
      }
      const ledger = tables.find((t) => t.name === LEDGER);
      if (ledger) await writeBack(ledger);
      return result;
    } finally {
      keyedStages.delete(stage);
      stages.delete(stage);
      await stage.close();
    }
  } finally {
    removeScratch(dir);
  }
}

async function appendNew(
  stage: Engine,
  target: Engine,
  source: NewEventsSource,
  n: number,
  dir: string,
  onProgress?: (line: string) => void,
): Promise<void> {
  onProgress?.(`appending ${n} events`);
  // Each batch carries the import's id and its number as its deduplication token: a batch whose
  // insert failed part way (a dropped connection, a timeout) is sent again, the same rows, and
  // ClickHouse stores it once (migration 005). A kill instead is the re-run's: it finds the
  // batches that made it by their uuids and stores the rest.
  const id = randomUUID();
  const send = async (i: number, insert: (dedupToken: string) => Promise<void>): Promise<void> => {
    const dedupToken = `sextant-import:${id}:${i}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await insert(dedupToken);
        return;
      } catch (e) {
        if (attempt >= APPEND_ATTEMPTS) throw e;
        onProgress?.(`appending batch ${i + 1} again after: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  };
  const appendParquet = target.appendParquet?.bind(target);
  // Not the events the stage was given (stored already).
  const isNew = source.given
    ? `NOT EXISTS (SELECT 1 FROM ${FETCHED} f WHERE f.uuid = e.uuid AND f.imported_at = e.imported_at)`
    : 'true';
  if (!appendParquet) {
    let i = 0;
    if (source.from !== NEW_EVENTS) {
      await stage.exec(
        raw(`CREATE OR REPLACE TABLE ${NEW_EVENTS} AS SELECT e.* FROM ${source.from} e WHERE ${isNew}`),
      );
    }
    for await (const rows of stage.scan(NEW_EVENTS, EVENT_COLUMNS, 50_000)) {
      faultPoint(`stage: append batch ${i + 1}`);
      await send(i++, (dedupToken) => target.insert(EVENTS, rows, { dedupToken }));
    }
    return;
  }
  // The bulk path: DuckDB writes each batch as a Parquet file (one row group) and the target
  // parses it itself; no row passes through JS. A batch is a range of the source's rowids (no
  // copy of the new events is made), the same rows on every attempt: the file is sent again.
  const columns = EVENT_COLUMNS.map((c) =>
    c === 'properties' || c === 'groups' ? `CAST(${c} AS VARCHAR) AS ${c}` : c,
  ).join(', ');
  const [last] = await stage.query<{ m: number | null }>(raw(`SELECT max(rowid) AS m FROM ${source.from}`));
  const end = Number(last?.m ?? -1) + 1;
  for (let i = 0, from = 0; from < end; from += PARQUET_BATCH_ROWS) {
    const file = join(dir, `append-${i}.parquet`);
    const [copied] = await stage.query<{ Count: number }>(
      raw(`COPY (SELECT ${columns} FROM ${source.from} e
        WHERE rowid >= ${from} AND rowid < ${from + PARQUET_BATCH_ROWS} AND ${isNew})
      TO ${literal(file)} (FORMAT parquet, ROW_GROUP_SIZE ${PARQUET_BATCH_ROWS})`),
    );
    if (Number(copied?.Count ?? 0) > 0) {
      faultPoint(`stage: append batch ${i + 1}`);
      await send(i++, (dedupToken) => appendParquet(EVENTS, EVENT_COLUMNS, file, { dedupToken }));
    }
    rmSync(file, { force: true });
  }
}

/** Where the new events are in the stage: a table, less the stored events it was `given`. */
interface NewEventsSource {
  from: string;
  given: boolean;
}

/**
 * A keyed stage after the import: the number of new events (those of the stage's `events` it was
 * not given) and of the stored events it was given. Those must all be there still, unchanged in
 * their keys (an import only removes its own doubles); otherwise nothing is written back.
 */
async function newEvents(stage: Engine): Promise<{ n: number; given: number }> {
  const [kept] = await stage.query<{ n: number; given: number; all: number }>(
    raw(`SELECT (SELECT count(*) FROM events e SEMI JOIN ${FETCHED} f ON f.uuid = e.uuid AND f.imported_at = e.imported_at) AS n,
      (SELECT count(*) FROM ${FETCHED}) AS given, (SELECT count(*) FROM events) AS "all"`),
  );
  const given = Number(kept?.given ?? 0);
  if (Number(kept?.n ?? 0) !== given) {
    throw new Error(
      `the import removed or changed ${given - Number(kept?.n ?? 0)} stored events: nothing written back`,
    );
  }
  return { n: Number(kept?.all ?? 0) - given, given };
}

/**
 * The good records the events importer is about to store (`_ingest_rows` of DuckDB's import
 * steps, store/duckdb/ingest-events.ts).
 */
const GOOD = '(SELECT * FROM _ingest_rows WHERE reason IS NULL)';

/**
 * Called by the events importer on a stage before it stores a batch of `_ingest_rows` (with
 * their final uuids): brings into the stage's `events` the stored events that batch's dedupe,
 * identity, overrides, person and group refresh read (see the file comment), each once. A no-op
 * on any other engine.
 */
export async function stageStoredEvents(stage: Engine): Promise<void> {
  const k = keyedStages.get(stage);
  if (!k || k.empty) return;
  // Ids: the batch's distinct_ids and merge ids, then every id of the persons they map to (or are
  // overridden to), then those persons (events written with them). Each sent once per stage.
  await stage.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _stage_d0 AS
    SELECT DISTINCT distinct_id AS id FROM ${GOOD} WHERE distinct_id IS NOT NULL
    UNION SELECT ${idText('fj')} FROM (
      SELECT CASE WHEN event = '$identify' THEN properties -> '$."$anon_distinct_id"' ELSE properties -> '$.alias' END AS fj
      FROM ${GOOD} WHERE event IN ('$identify', '$create_alias', '$merge_dangerously'))`),
  );
  await stage.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _stage_p AS
    SELECT person_id AS id FROM person_distinct_ids WHERE distinct_id IN (SELECT id FROM _stage_d0)
    UNION SELECT person_id FROM person_overrides WHERE distinct_id IN (SELECT id FROM _stage_d0)
    EXCEPT SELECT id FROM ${SENT_PERSONS}`),
  );
  await stage.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _stage_d AS
    SELECT id FROM _stage_d0 WHERE id IS NOT NULL
    UNION SELECT distinct_id FROM person_distinct_ids WHERE person_id IN (SELECT id FROM _stage_p)
    UNION SELECT distinct_id FROM person_overrides WHERE person_id IN (SELECT id FROM _stage_p)
    EXCEPT SELECT id FROM ${SENT_IDS}`),
  );
  // A derived uuid's record is found by its distinct_id (the content key holds it).
  await stage.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _stage_u AS
    SELECT DISTINCT uuid AS id FROM ${GOOD} WHERE uuid IS NOT NULL AND ckey IS NULL`),
  );
  const [counts] = await stage.query<{ d: number; p: number; u: number; gi: number }>(
    raw(`SELECT (SELECT count(*) FROM _stage_d) AS d, (SELECT count(*) FROM _stage_p) AS p,
      (SELECT count(*) FROM _stage_u) AS u, (SELECT count(*) FROM ${GOOD} WHERE event = '$groupidentify') AS gi`),
  );
  const groups = !k.groupIdentifies && (counts?.gi ?? 0) > 0;
  await stage.exec(raw(`INSERT INTO ${SENT_IDS} SELECT id FROM _stage_d`));
  await stage.exec(raw(`INSERT INTO ${SENT_PERSONS} SELECT id FROM _stage_p`));

  const conditions: Sql[] = [];
  const appendParquet = k.target.appendParquet?.bind(k.target);
  // The keys of stage table `from` (its `id`) as the target's scratch table `table`: as a Parquet
  // file the target parses when it can (a batch's uuids are as many as its records).
  const send = async (table: string, column: string, from: string, n: number): Promise<void> => {
    if (n === 0) return;
    if (appendParquet) {
      const file = join(k.dir, `${table}.parquet`);
      await stage.exec(raw(`COPY (SELECT id AS k FROM ${from}) TO ${literal(file)} (FORMAT parquet)`));
      await k.target.stageRows(table, ['k'], []);
      await appendParquet(table, ['k'], file);
      rmSync(file, { force: true });
    } else {
      await k.target.stageRows(table, ['k'], await stage.query(raw(`SELECT id AS k FROM ${from}`)));
    }
    conditions.push(k.target.dialect.sqlInScratch(ident(column), table, 'k'));
  };
  try {
    await send(KEY_TABLES.uuid, 'uuid', '_stage_u', counts?.u ?? 0);
    await send(KEY_TABLES.id, 'distinct_id', '_stage_d', counts?.d ?? 0);
    await send(KEY_TABLES.person, 'person_id', '_stage_p', counts?.p ?? 0);
    if (groups) conditions.push(raw(`event = '$groupidentify'`));
    if (conditions.length === 0) return;
    const where = raw(conditions.map((c) => `(${c.toString()})`).join(' OR '));
    let n = 0;
    if (k.target.scanToParquet) {
      // As a Parquet file DuckDB reads: no row passes through JS.
      const file = join(k.dir, 'fetched.parquet');
      await k.target.scanToParquet(EVENTS, EVENT_COLUMNS, file, where);
      if (existsSync(file) && statSync(file).size > 0) {
        const cols = EVENT_COLUMNS.join(', ');
        await stage.exec(
          raw(`INSERT INTO ${FETCH} (${cols}) SELECT ${cols} FROM read_parquet(${literal(file)})`),
        );
        const [r] = await stage.query<{ n: number }>(raw(`SELECT count(*) AS n FROM ${FETCH}`));
        n = Number(r?.n ?? 0);
      }
      rmSync(file, { force: true });
    } else {
      for await (const rows of k.target.scan(EVENTS, EVENT_COLUMNS, 50_000, where)) {
        await stage.insert(FETCH, rows);
        n += rows.length;
      }
    }
    if (groups) k.groupIdentifies = true;
    if (n === 0) return;
    // Only rows not given before (an event can match the keys of two batches).
    await stage.exec(
      raw(`CREATE OR REPLACE TEMP TABLE _stage_fresh AS
      SELECT f.* FROM ${FETCH} f ANTI JOIN ${FETCHED} s ON s.uuid = f.uuid AND s.imported_at = f.imported_at`),
    );
    await stage.exec(raw(`INSERT INTO events SELECT * FROM _stage_fresh`));
    await stage.exec(raw(`INSERT INTO ${FETCHED} SELECT uuid, imported_at FROM _stage_fresh`));
    await stage.exec(raw(`DELETE FROM ${FETCH}; DROP TABLE _stage_fresh`));
    k.fetched += n;
    k.onProgress?.(`read ${n} stored events keyed by the batch (${k.fetched} in all)`);
  } finally {
    for (const t of Object.values(KEY_TABLES)) await k.target.dropStaged(t);
    for (const t of ['_stage_d0', '_stage_p', '_stage_d', '_stage_u'])
      await stage.exec(raw(`DROP TABLE ${t}`));
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

/**
 * The order tables are written back in. Each is written row by row (upserts, removals), not
 * atomically, so after a kill a re-run must still find what it needs to redo the rest: the
 * overrides, persons and groups first (a re-run recomputes them from the merges and the map),
 * then the merges, then the distinct_id → person map (a re-run finds changes against the map,
 * so the map goes after everything derived from those changes), then the events, the ledger
 * last (a re-run dedupes against what is stored and records itself).
 */
const WRITE_ORDER = [
  'person_overrides',
  'persons',
  'groups',
  '',
  'identity_merges',
  'person_distinct_ids',
  EVENTS,
  LEDGER,
];

function writeOrder(table: string): number {
  const i = WRITE_ORDER.indexOf(table);
  return i >= 0 ? i : WRITE_ORDER.indexOf('');
}

/**
 * The key of every table of the stage that has one (its primary key; the ledger's is its row's
 * source, kind and time), each copied to `_before_<name>`, so that what an import changed can be
 * written back as changes (`writeChanges`), not as the whole table. `skip`: not staged.
 */
async function snapshot(stage: Engine, skip: readonly string[]): Promise<Map<string, string[]>> {
  const pks = await stage.query<{ t: string; cols: string[] }>(
    raw(`SELECT table_name AS t, constraint_column_names AS cols FROM duckdb_constraints()
      WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database()`),
  );
  const keys = new Map<string, string[]>(pks.map((r) => [r.t, r.cols]));
  keys.set(LEDGER, [...LEDGER_KEY]);
  for (const t of await stage.tables()) {
    if (skip.includes(t.name) || !keys.has(t.name)) {
      keys.delete(t.name);
      continue;
    }
    await stage.exec(
      sql`CREATE OR REPLACE TABLE ${ident(`_before_${t.name}`)} AS SELECT * FROM ${ident(t.name)}`,
    );
  }
  return keys;
}

/**
 * Writes back what the import changed in `t`: its rows that are not in the snapshot, upserted by
 * `key` (on ClickHouse a newer version of a ReplacingMergeTree row), and the keys it no longer
 * has, removed (a version marked deleted). Proportional to the change, not to the table.
 */
async function writeChanges(
  stage: Engine,
  target: Engine,
  t: TableInfo,
  key: readonly string[],
  onProgress?: (line: string) => void,
): Promise<void> {
  const name = ident(t.name);
  const before = ident(`_before_${t.name}`);
  const keyList = raw(key.map((k) => ident(k).toString()).join(', '));
  await stage.exec(
    sql`CREATE OR REPLACE TABLE _stage_upserts AS SELECT * FROM ${name} EXCEPT SELECT * FROM ${before}`,
  );
  await stage.exec(
    sql`CREATE OR REPLACE TABLE _stage_removals AS SELECT ${keyList} FROM ${before} EXCEPT SELECT ${keyList} FROM ${name}`,
  );
  const [n] = await stage.query<{ up: number; rm: number }>(
    raw('SELECT (SELECT count(*) FROM _stage_upserts) AS up, (SELECT count(*) FROM _stage_removals) AS rm'),
  );
  onProgress?.(`writing back ${t.name}: ${n?.up ?? 0} rows stored, ${n?.rm ?? 0} removed`);
  for await (const rows of stage.scan('_stage_removals', key, 50_000)) await target.remove(t.name, rows, key);
  for await (const rows of stage.scan('_stage_upserts', t.columns, 50_000))
    await target.upsert(t.name, rows, key);
}

/** Each table's row count and an order-independent hash of its rows (the stage is DuckDB). */
async function fingerprints(stage: Engine, skip: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of await stage.tables()) {
    if (skip.includes(t.name)) continue;
    const [row] = await stage.query<{ n: number; h: string | null }>(
      sql`SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM ${ident(t.name)} AS t`,
    );
    out.set(t.name, `${row?.n}:${row?.h}`);
  }
  return out;
}

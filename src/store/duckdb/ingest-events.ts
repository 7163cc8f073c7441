/**
 * DuckDB's steps of an events import (SPEC §3.1; `EventImportSteps`, store/event-import.ts): the
 * import itself (paths, chunks, ledger, the order of commits) is ingest/posthog/load-events.ts,
 * written once for every engine. Set-based from end to end; the rules are in docs/ingest.md.
 *
 * - Readers: clean JSON Lines by DuckDB's JSON reader with explicit columns (`jsonl-fast`); any
 *   file with bad records, JSON arrays, CSV and Parquet record by record, every record classified
 *   into `_ingest_rows` with its fault (field, reason) or its normalized columns. JSON Lines are
 *   then read as raw lines with DuckDB's CSV reader (one VARCHAR column, a delimiter that cannot
 *   appear in valid JSON), so a bad line never stops the scan; lines the reader rejects (invalid
 *   UTF-8) land in its rejects table with their line. Physical lines are worked out only for bad
 *   records (`lineOf`).
 * - A batch (`storeBatch`): identity, dedupe against earlier imports and within the batch, INSERT
 *   in an order that writes whole row groups; the uuid hashes kept for `removeImportsDoubles`.
 * - The end: overrides, persons, groups (ingest-identity.ts).
 */
import { statSync } from 'node:fs';
import type { EventImportSteps, EventSource, EventSourceFormat, StoredBatch } from '../event-import.js';
import type { Engine } from '../engine.js';
import { eventsWithPersons } from '../events.js';
import { raw, sql, type Sql } from '../sql.js';
import { isImportStage } from '../staging.js';
import { InputError } from '../../errors.js';
import {
  EARLIEST_EVENT_TIME,
  EVENT_RULES,
  reasonPrefix,
  reasonText,
  type EventRuleKey,
} from '../../ingest/posthog/rules.js';
import {
  applyIdentityDuckDb,
  dropIdentityTemps,
  hasRows,
  refreshGroups,
  refreshPersons,
  resolveIdentity,
  upsertOverrides,
} from './ingest-identity.js';

/** The JSON paths extracted from each record, in `j` order (1-based in SQL). */
const FIELDS = [
  '$.event', // 1
  '$.distinct_id', // 2
  '$.timestamp', // 3
  '$.properties', // 4
  '$.uuid', // 5
  '$."$set"', // 6  top-level $set of SDK payloads
  '$."$set_once"', // 7
  '$.properties.distinct_id', // 8  SDKs put distinct_id here
  '$.properties."$groups"', // 9
] as const;

/** `x` (the list of FIELDS) as columns `j1`…`j9`. */
const LIST_COLUMNS = raw(FIELDS.map((_, i) => `x[${i + 1}] AS j${i + 1}`).join(', '));
const FIELDS_SQL = raw('[' + FIELDS.map((f) => `'${f}'`).join(', ') + ']');
/**
 * The longest line (or JSON value) read: a 10 MB properties blob imports. DuckDB's CSV reader
 * reports a longer line as rejected only when its buffer is no larger than `max_line_size`
 * (with a smaller buffer it drops the line silently), so both are set to this.
 */
const MAX_LINE_BYTES = 32 * 1024 * 1024;

/** Reader errors (DuckDB `error_type`) in our words. */
const READER_REASONS: Record<string, string> = {
  'INVALID ENCODING': reasonText('notUtf8'),
  'INVALID UNICODE': reasonText('notUtf8'),
  'TOO MANY COLUMNS': reasonText('controlChar'),
  'LINE SIZE OVER MAXIMUM': reasonText('lineTooLong'),
};

/** What an import accepts beyond a record's shape: the latest event time (import + clock skew). */
interface Limits {
  latest: Date;
}

/** A SQL string literal of our own text (a rule's reason): quotes doubled. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * `[field, reason]` of a rule of EVENT_RULES (rules.ts), as the classification's fault list; with
 * `detail`, the reason's `…` is that SQL expression.
 */
function rule(key: EventRuleKey, detail?: Sql): Sql {
  const { field } = EVENT_RULES[key];
  const reason = detail ? `${literal(reasonPrefix(key))} || ${detail.toString()}` : literal(reasonText(key));
  return raw(`[${field === null ? 'NULL' : literal(field)}, ${reason}]`);
}

/** A TIMESTAMPTZ literal of a JS date (ours, not user text). */
function timestampLiteral(d: Date): string {
  return `TIMESTAMPTZ '${d.toISOString()}'`;
}

/**
 * DuckDB's memory limit during an events import. The process's peak RSS runs 0.2–0.5 GB above it
 * (the allocator keeps what it freed): at 1GB the 10M demo peaked at 1.38–1.68 GB, at 800MB at
 * 1.1 GB, for the same CPU (3M events, alternated: 27.8 / 29.9 CPU-s against 28.1 / 29.4; about
 * 0.1 GB more spilled to disk).
 */
const IMPORT_MEMORY_LIMIT = /^[1-9]\d*(MB|GB)$/.test(process.env.SEXTANT_IMPORT_MEMORY ?? '')
  ? process.env.SEXTANT_IMPORT_MEMORY!
  : '800MB';
/** Memory for the end of an import per distinct_id in the store (`finishing`). */
const FINISH_BYTES_PER_ID = 512;
/** New events from which an import checkpoints the store itself (see `loadEventFile`). */
const CHECKPOINT_AFTER = 100_000;
const TEMP_TABLES = [
  '_ingest_src',
  '_ingest_rows',
  '_ingest_seen',
  '_ingest_again',
  '_ingest_cands',
  '_ingest_keys',
  '_ingest_lost',
  '_ingest_orphans',
  '_ingest_dups',
  '_ingest_skip',
  '_ingest_reader_rejects',
  '_ingest_reader_scans',
  '_ingest_occ',
  '_ingest_occ_batch',
];

/**
 * A source relation for `classify`: `ord` (1-based record number), `j1`…`j9` (the FIELDS of the
 * record as JSON; separate columns, not a list, which measured cheaper), `parsed` (false when it
 * is not valid JSON), `is_obj`, `props_invalid`, `raw` (the record's text, kept only for bad
 * records of formats without physical lines).
 */
interface Source extends EventSource {
  relation: Sql;
  /** Lines before the first record (a CSV header). */
  lineOffset: number;
  /** Whether the DuckDB CSV reader ran with a rejects table. */
  readerRejects: boolean;
}

function compressionOption(gzip: boolean, uncompressed: string): Sql {
  return raw(gzip ? "'gzip'" : `'${uncompressed}'`);
}

const REJECTS_OPTIONS = raw(
  "store_rejects = true, ignore_errors = true, rejects_table = '_ingest_reader_rejects', rejects_scan = '_ingest_reader_scans'",
);
const LINE_SIZE_OPTIONS = raw(`max_line_size = ${MAX_LINE_BYTES}, buffer_size = ${MAX_LINE_BYTES}`);

function jsonLinesSource(file: string, gzip: boolean): Source {
  return {
    relation: sql`(SELECT ord, ${LIST_COLUMNS}, x IS NOT NULL AS parsed, is_obj, props_invalid, raw FROM (
      SELECT ordinality AS ord, try(json_extract(raw, ${FIELDS_SQL})) AS x,
        starts_with(ltrim(raw, ' \t\r'), '{') AS is_obj, false AS props_invalid, NULL::VARCHAR AS raw
      FROM read_csv(${file}, columns = {'raw': 'VARCHAR'}, delim = '\x01', quote = '', escape = '',
        header = false, auto_detect = false, compression = ${compressionOption(gzip, 'none')},
        ${LINE_SIZE_OPTIONS}, ${REJECTS_OPTIONS}) WITH ORDINALITY
      WHERE raw IS NOT NULL AND trim(raw, ' \t\r') <> ''))`,
    lineOffset: 0,
    readerRejects: true,
    physicalLines: true,
  };
}

/**
 * The fast path for JSON Lines: DuckDB's JSON reader with explicit columns (every one JSON, so
 * types are still checked by `classify`) is several times faster than lines + `json_extract`. It
 * stops at the first malformed line and does not number lines (ordinality alone cost a third
 * of its time), so a file it fails on, or that has any bad record, is read again through
 * `jsonLinesSource`. The columns are JSON text the reader wrote, so a first character gives a
 * type (`json_type` parsed every `properties` once more: 0.2 s per 1M events), and `$groups` is
 * extracted only from properties that mention it. Text searches start with `$`, not `"`: DuckDB
 * finds a needle's first character first, and JSON has a `"` every few bytes (`'"$groups"'` cost
 * 0.2 CPU-s per 1M demo events, `'$groups"'` 0.1).
 */
function jsonLinesFastSource(file: string, gzip: boolean): Source {
  return {
    relation: sql`(SELECT NULL::BIGINT AS ord,
        event AS j1, distinct_id AS j2, "timestamp" AS j3, properties AS j4, uuid AS j5, "$set" AS j6, "$set_once" AS j7,
        CASE WHEN distinct_id IS NULL OR distinct_id = 'null' THEN json_extract(properties, '$.distinct_id') END AS j8,
        CASE WHEN starts_with(properties, '{') AND contains(properties, '$groups"')
          THEN json_extract(properties, '$."$groups"') END AS j9,
        true AS parsed, true AS is_obj, false AS props_invalid, NULL::VARCHAR AS raw
      FROM read_json(${file}, format = 'newline_delimited', compression = ${compressionOption(gzip, 'uncompressed')},
        maximum_object_size = ${raw(String(MAX_LINE_BYTES))},
        columns = {event: 'JSON', distinct_id: 'JSON', "timestamp": 'JSON', properties: 'JSON', uuid: 'JSON',
                   "$set": 'JSON', "$set_once": 'JSON'}))`,
    lineOffset: 0,
    readerRejects: false,
    physicalLines: true,
  };
}

function jsonArraySource(file: string, gzip: boolean): Source {
  return {
    relation: sql`(SELECT ord, ${LIST_COLUMNS}, x IS NOT NULL AS parsed, is_obj, props_invalid, raw FROM (
      SELECT ordinality AS ord, try(json_extract(json, ${FIELDS_SQL})) AS x,
        json_type(json) = 'OBJECT' AS is_obj, false AS props_invalid, json::VARCHAR AS raw
      FROM read_json(${file}, format = 'array', records = false,
        compression = ${compressionOption(gzip, 'uncompressed')},
        maximum_object_size = ${raw(String(MAX_LINE_BYTES))}) WITH ORDINALITY))`,
    lineOffset: 0,
    readerRejects: false,
    physicalLines: false,
  };
}

const TABULAR_COLUMNS = ['event', 'distinct_id', 'timestamp', 'properties', 'uuid'] as const;
type TabularColumn = (typeof TABULAR_COLUMNS)[number];

/**
 * CSV (header required; every column text) and Parquet (typed columns) give the same `j` list,
 * built from columns. A text `properties` column holds JSON; a struct/map one is converted.
 */
async function tabularSource(
  engine: Engine,
  file: string,
  format: 'csv' | 'parquet',
  gzip: boolean,
): Promise<Source> {
  const reader =
    format === 'parquet'
      ? sql`read_parquet(${file})`
      : sql`read_csv(${file}, header = true, all_varchar = true, auto_detect = true, quote = '"', escape = '"',
          compression = ${compressionOption(gzip, 'none')}, ${LINE_SIZE_OPTIONS}, ${REJECTS_OPTIONS})`;
  let columns: { column_name: string; column_type: string }[];
  try {
    columns = await engine.query(sql`DESCRIBE SELECT * FROM ${reader}`);
  } catch (e) {
    const what = format === 'csv' ? 'CSV' : 'Parquet';
    throw new InputError(`not a readable ${what} file: ${firstLine((e as Error).message)}`, { file });
  }
  const types = new Map(columns.map((c) => [c.column_name, c.column_type]));
  for (const name of types.keys()) {
    if (!(TABULAR_COLUMNS as readonly string[]).includes(name)) {
      throw new InputError(`unknown column (expected ${TABULAR_COLUMNS.join(', ')})`, { file, field: name });
    }
  }
  for (const required of ['event', 'distinct_id', 'timestamp'] as const) {
    if (!types.has(required)) throw new InputError('missing column', { file, field: required });
  }
  const present = TABULAR_COLUMNS.filter((c) => types.has(c));
  const col = (c: TabularColumn): Sql => (types.has(c) ? raw(`"${c}"`) : raw('NULL'));
  const propsIsText = types.get('properties') === 'VARCHAR';
  const props = propsIsText
    ? sql`CASE WHEN json_valid(${col('properties')}) THEN json(${col('properties')}) END`
    : sql`to_json(${col('properties')})`;
  const propsInvalid = propsIsText
    ? sql`(${col('properties')} IS NOT NULL AND trim(${col('properties')}) <> '' AND NOT json_valid(${col('properties')}))`
    : raw('false');
  return {
    relation: sql`(SELECT ord, to_json(${col('event')}) AS j1, to_json(${col('distinct_id')}) AS j2,
        to_json(${col('timestamp')}) AS j3, p AS j4, to_json(${col('uuid')}) AS j5, NULL::JSON AS j6, NULL::JSON AS j7,
        json_extract(p, '$.distinct_id') AS j8, json_extract(p, '$."$groups"') AS j9,
        true AS parsed, true AS is_obj, props_invalid,
        json_object(${raw(present.map((c) => `'${c}', "${c}"`).join(', '))})::VARCHAR AS raw
      FROM (SELECT ordinality AS ord, *, ${props} AS p, ${propsInvalid} AS props_invalid FROM ${reader} WITH ORDINALITY))`,
    lineOffset: format === 'csv' ? 1 : 0,
    readerRejects: format === 'csv',
    physicalLines: format === 'csv',
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/*
 * Every `j` column is JSON text that DuckDB wrote (the JSON reader, json_extract, to_json, json()
 * all re-serialize: minified, no leading space), so its first character gives its type and a
 * string without a backslash is its text between the quotes. Parsing is left to the rare rest
 * (numbers, booleans, arrays, escaped strings): 1M demo events classify in 1.27 s instead of 1.55.
 */
/** `json_type(x)`, parsing only what the first character does not tell. */
function jsonType(x: string): Sql {
  return raw(`(CASE WHEN ${x} IS NULL THEN NULL WHEN starts_with(${x}, '"') THEN 'VARCHAR'
    WHEN starts_with(${x}, '{') THEN 'OBJECT' WHEN ${x} = 'null' THEN 'NULL' ELSE json_type(${x}) END)`);
}
/** A JSON type (`json_type`) as users know it: number, string, boolean, array, object. */
function typeName(t: string): Sql {
  return raw(
    `CASE WHEN ${t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN 'number' WHEN ${t} = 'VARCHAR' THEN 'string' ELSE lower(${t}) END`,
  );
}
/** `x ->> '$'` for a JSON string `x`. */
function jsonString(x: string): Sql {
  return raw(`(CASE WHEN contains(${x}, '\\') THEN ${x} ->> '$' ELSE ${x}[2:-2] END)`);
}

/**
 * `source` → `_ingest_rows(ord, line, field, reason, raw, uuid, event, distinct_id, timestamp,
 * properties, groups, organization, has_set)`. The first failing check names a record's fault.
 * `has_set` is `contains(properties, '"$set')`, looked for as `'$set'` first (see
 * `jsonLinesFastSource`: 0.2 CPU-s per 1M demo events, against 0.1).
 */
async function classify(engine: Engine, source: Source, limits: Limits, stage = true): Promise<void> {
  // For the line reader, reading into a table first, then classifying, measured faster than one
  // statement doing both (1M demo events: 21 s against 34 s on a loaded 2-core machine); the JSON
  // reader's typed columns are cheaper classified as they are read.
  if (stage) {
    await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_src AS SELECT * FROM ${source.relation}`);
  }
  const from = stage ? raw('_ingest_src') : source.relation;
  await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_rows AS
    WITH f AS (
      SELECT ord, j1, j2, j3, j4, j5, j6, j7, j9, parsed, is_obj, props_invalid, raw,
        ${jsonType('j1')} AS ev_t,
        CASE WHEN j2 IS NULL OR j2 = 'null' THEN j8 ELSE j2 END AS did_j,
        ${jsonType('j3')} AS ts_t,
        ${jsonType('j4')} AS props_t,
        ${jsonType('j5')} AS uuid_t
      FROM ${from}
    ), g AS (
      SELECT *,
        CASE WHEN ev_t = 'VARCHAR' THEN ${jsonString('j1')} END AS event,
        ${jsonType('did_j')} AS did_t,
        CASE WHEN ts_t = 'VARCHAR' THEN ${jsonString('j3')} END AS ts_text
      FROM f
    ), h AS (
      SELECT *,
        CASE did_t WHEN 'VARCHAR' THEN ${jsonString('did_j')}
          WHEN 'BIGINT' THEN did_j::VARCHAR WHEN 'UBIGINT' THEN did_j::VARCHAR WHEN 'DOUBLE' THEN did_j::VARCHAR
        END AS distinct_id,
        try_cast(ts_text AS TIMESTAMPTZ) AS ts
      FROM g
    ), c AS (
      SELECT *,
        CASE
          WHEN NOT parsed THEN ${rule('invalidJson')}
          WHEN NOT is_obj THEN ${rule('notObject')}
          WHEN ev_t IS NULL OR ev_t = 'NULL' THEN ${rule('eventMissing')}
          WHEN ev_t <> 'VARCHAR' THEN ${rule('eventType', typeName('ev_t'))}
          WHEN event = '' THEN ${rule('eventEmpty')}
          WHEN did_t IS NULL OR did_t = 'NULL' THEN ${rule('distinctIdMissing')}
          WHEN distinct_id IS NULL THEN ${rule('distinctIdType', typeName('did_t'))}
          WHEN distinct_id = '' THEN ${rule('distinctIdEmpty')}
          WHEN ts_t IS NULL OR ts_t = 'NULL' THEN ${rule('timestampMissing')}
          WHEN ts_text IS NULL THEN ${rule('timestampType', typeName('ts_t'))}
          WHEN ts IS NULL THEN CASE
            WHEN regexp_matches(ts_text, '^\\d{4}-\\d\\d-\\d\\d') AND try_cast(left(ts_text, 10) AS DATE) IS NULL
              THEN ${rule('timestampNotDate', raw('left(ts_text, 40)'))}
            ELSE ${rule('timestampNotIso', raw('left(ts_text, 40)'))} END
          WHEN ts < ${raw(timestampLiteral(new Date(EARLIEST_EVENT_TIME)))} THEN ${rule('timestampTooEarly', raw('left(ts_text, 40)'))}
          WHEN ts > ${raw(timestampLiteral(limits.latest))} THEN ${rule('timestampFuture', raw('left(ts_text, 40)'))}
          WHEN props_invalid THEN ${rule('propertiesJson')}
          WHEN props_t IS NOT NULL AND props_t NOT IN ('OBJECT', 'NULL') THEN ${rule('propertiesType', typeName('props_t'))}
          WHEN uuid_t IS NOT NULL AND uuid_t NOT IN ('VARCHAR', 'NULL') THEN ${rule('uuidType', typeName('uuid_t'))}
        END AS fault
      FROM h
    ), n AS (
      SELECT ord, fault, raw, event, distinct_id, ts,
        CASE WHEN fault IS NULL THEN
          CASE WHEN starts_with(j6, '{') OR starts_with(j7, '{') THEN
            json_merge_patch(coalesce(CASE WHEN props_t = 'OBJECT' THEN j4 END, '{}'),
              json_object('$set', CASE WHEN starts_with(j6, '{') THEN j6 END,
                          '$set_once', CASE WHEN starts_with(j7, '{') THEN j7 END))
          ELSE coalesce(CASE WHEN props_t = 'OBJECT' THEN j4 END, '{}') END
        END AS properties,
        CASE WHEN uuid_t = 'VARCHAR' AND j5 <> '""' THEN ${jsonString('j5')} END AS given_uuid,
        CASE WHEN starts_with(j9, '{') THEN j9 END AS groups
      FROM c
    )
    SELECT ord, NULL::BIGINT AS line, fault[1] AS field, fault[2] AS reason,
      CASE WHEN fault IS NOT NULL THEN raw END AS raw,
      CASE WHEN fault IS NULL THEN given_uuid END AS uuid,
      event, distinct_id, ts AS timestamp, properties, groups, groups ->> 'organization' AS organization,
      CASE WHEN NOT contains(properties, '$set') THEN false ELSE contains(properties, '"$set') END AS has_set,
      CASE WHEN fault IS NULL AND given_uuid IS NULL
        THEN sextant_content_key(event, distinct_id, ts, properties) END AS ckey
    FROM n`);
  if (stage) await engine.exec(raw('DROP TABLE _ingest_src'));
  if (source.readerRejects) {
    const whens = Object.entries(READER_REASONS)
      .map(([k, v]) => `WHEN '${k}' THEN '${v.replaceAll("'", "''")}'`)
      .join(' ');
    await engine.exec(
      raw(`INSERT INTO _ingest_rows (ord, line, reason)
      SELECT NULL, line, min(CASE error_type ${whens} ELSE 'unreadable: ' || error_message END)
      FROM _ingest_reader_rejects GROUP BY line`),
    );
  }
}

/**
 * Physical lines of the bad records. DuckDB's ordinality counts the rows the reader returns; the
 * lines it rejected (which it reports with their physical line) are not returned, so each later
 * row shifts by one: line = ordinality + offset + the number of rejected lines whose
 * (line − offset − rank) is below the ordinality (rank: 1-based among rejected lines).
 */
function lineOf(source: Source): Sql {
  const off = raw(String(source.lineOffset));
  if (!source.readerRejects) return sql`(SELECT ord + ${off} AS ord_line, * FROM _ingest_rows)`;
  return sql`(
    WITH ranked AS (
      SELECT line - ${off} - row_number() OVER (ORDER BY line) AS shift_key, row_number() OVER (ORDER BY line) AS shifted
      FROM (SELECT DISTINCT line FROM _ingest_reader_rejects)
    ), r AS (SELECT shift_key, max(shifted) AS shifted FROM ranked GROUP BY shift_key)
    SELECT coalesce(b.line, b.ord + ${off} + coalesce(r.shifted, 0)) AS ord_line, b.*
    FROM (SELECT * FROM _ingest_rows WHERE reason IS NOT NULL) b ASOF LEFT JOIN r ON b.ord > r.shift_key)`;
}

/** The good records just read, as the scope identity, persons and groups are refreshed for. */
const GOOD = raw('(SELECT * FROM _ingest_rows WHERE reason IS NULL)');

/**
 * `_ingest_dups(uuid, win, rows)`: for each uuid that more than one good record of `_ingest_rows`
 * has, the rowid of the one stored (the earliest timestamp, then the first record, then the first
 * row of `_ingest_rows`: a fast-path chunk has no record numbers) and the rowids of all of them.
 * The candidates are the uuids whose 64-bit hash repeats, found by sorting the batch's hashes (1M
 * records: 0.15–0.21 CPU-s, against 0.19–0.25 for a hash aggregate of them, which holds a group
 * per record), then by uuid among the few candidates.
 */
const DUPS = raw(`CREATE OR REPLACE TEMP TABLE _ingest_dups AS
  SELECT uuid, arg_min(rowid, (timestamp, ord, rowid)) AS win, list(rowid) AS rows FROM _ingest_rows
  WHERE reason IS NULL AND hash(uuid) IN (
    SELECT h FROM (SELECT h, lag(h) OVER (ORDER BY h) AS prev FROM (SELECT hash(uuid) AS h FROM _ingest_rows WHERE reason IS NULL))
    WHERE h = prev)
  GROUP BY uuid HAVING count(*) > 1`);

/**
 * `_ingest_skip(r, seen, loser)`: the rowids of the good records not stored: (`loser`) those that
 * lost to another of the batch with their uuid, and (`seen`) those whose uuid an earlier import
 * stored; a record can be both.
 */
function skipped(seen: boolean): Sql {
  return raw(`CREATE OR REPLACE TEMP TABLE _ingest_skip AS
    SELECT r, bool_or(seen) AS seen, bool_or(loser) AS loser FROM (
      SELECT r, false AS seen, true AS loser FROM (SELECT unnest(rows) AS r, win FROM _ingest_dups) WHERE r <> win
      ${seen ? 'UNION ALL SELECT rowid, true, false FROM _ingest_rows WHERE reason IS NULL AND uuid IN (SELECT uuid FROM _ingest_seen)' : ''}
    ) GROUP BY r`);
}

/**
 * The good records of `_ingest_rows` that are stored: one per uuid, none an earlier import
 * stored. Filtered by rowid against the few skipped (`_ingest_skip`), not joined by uuid (which
 * hashed every record's uuid again in each of the three statements that read it). One scan, no
 * UNION, so the INSERT reading it keeps the scan's order and DuckDB's ordered insert writes whole
 * row groups: a parallel unordered insert left part-filled ones that the checkpoint then merged
 * (10M events: 5.2 s of checkpoint).
 */
function storedRows(anySkipped: boolean): Sql {
  return anySkipped
    ? raw(
        `(SELECT g.* FROM _ingest_rows g LEFT JOIN _ingest_skip k ON k.r = g.rowid WHERE g.reason IS NULL AND k.r IS NULL)`,
      )
    : GOOD;
}

/**
 * An import's timestamp as SQL (`events.imported_at` of every event it stores, and its `imports`
 * row). A literal, not a parameter, so scans of `events` filtered on it skip other imports' row
 * groups by their zone maps; the text is DuckDB's own rendering of a timestamp (checked).
 */
function importedAtSql(text: string): Sql {
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00$/.test(text)) {
    throw new Error(`unexpected timestamp text from the store: ${text}`);
  }
  return raw(`TIMESTAMPTZ '${text}'`);
}
/** Inside a transaction: `dedupeImport`'s removal, from the batches' hashes. */
async function removeImportsDoubles(engine: Engine, at: Sql): Promise<number> {
  // Candidates from the batches' own hashes (`_ingest_keys`, one per uuid per batch), so that
  // `events` is read only when a uuid may have been stored twice. Sorted, not aggregated (10M
  // hashes: 0.6 s against 1.0 s).
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _ingest_cands AS
    SELECT DISTINCT h FROM (SELECT h, lag(h) OVER (ORDER BY h) AS prev FROM _ingest_keys) WHERE h = prev`),
  );
  return removeStoredTwice(engine, at);
}

/**
 * Among the events of the imports `imports` (timestamps, comma-separated) whose uuid hash is in
 * `_ingest_cands(h)`: each uuid stored more than once keeps its earliest timestamp, then its first
 * stored copy. The kept copy's identity merge (or none) replaces the one recorded and identity is
 * resolved again; the ids whose person changed go to `_ingest_changed`. An import's own copies only: each import
 * stores no uuid an earlier one stored. Returns the number of events removed.
 */
async function removeStoredTwice(engine: Engine, imports: Sql): Promise<number> {
  const [cands] = await engine.query<{ n: number }>(raw('SELECT count(*)::BIGINT AS n FROM _ingest_cands'));
  if (!cands?.n) return 0;
  await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_again AS
    SELECT rowid AS r, uuid, timestamp, distinct_id FROM events
    WHERE imported_at IN (${imports}) AND hash(uuid) IN (SELECT h FROM _ingest_cands)
    QUALIFY count(*) OVER (PARTITION BY uuid) > 1`);
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _ingest_lost AS
    SELECT r, uuid, distinct_id, row_number() OVER (PARTITION BY uuid ORDER BY timestamp, r) AS rank FROM _ingest_again`),
  );
  const [del] = await engine.query<{ Count: number }>(
    raw('DELETE FROM events WHERE rowid IN (SELECT r FROM _ingest_lost WHERE rank > 1)'),
  );
  // The merge recorded for a uuid is its first stored copy with one (later copies' conflicted),
  // not necessarily the kept copy's: replaced by the kept copy's.
  const [moved] = await engine.query<{ n: number }>(
    raw(`SELECT count(*)::BIGINT AS n FROM identity_merges
      WHERE event_uuid IN (SELECT uuid FROM _ingest_lost WHERE rank > 1)`),
  );
  // Ids seen only in removed copies or their merges map to nothing afterwards.
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _ingest_orphans AS
    SELECT distinct_id FROM _ingest_lost WHERE rank > 1
    UNION SELECT unnest([from_id, into_id]) FROM identity_merges WHERE event_uuid IN (SELECT uuid FROM _ingest_lost WHERE rank > 1)`),
  );
  if (moved?.n) {
    await engine.exec(
      raw(`DELETE FROM identity_merges WHERE event_uuid IN (SELECT uuid FROM _ingest_lost WHERE rank > 1)`),
    );
    await resolveIdentity(
      engine,
      sql`(SELECT uuid, event, distinct_id, timestamp, properties FROM events
        WHERE imported_at IN (${imports}) AND uuid IN (SELECT uuid FROM _ingest_lost WHERE rank > 1))`,
      undefined,
      // Merges were removed: a removed first `$identify` can let another merge in, anywhere.
      { full: true },
    );
    await engine.exec(raw('INSERT INTO _ingest_changed SELECT * FROM _id_changed'));
  }
  await engine.exec(
    raw(`DELETE FROM person_distinct_ids p WHERE p.distinct_id = p.person_id
    AND p.distinct_id IN (SELECT distinct_id FROM _ingest_orphans)
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.distinct_id = p.distinct_id)
    AND NOT EXISTS (SELECT 1 FROM identity_merges m WHERE p.distinct_id IN (m.from_id, m.into_id))`),
  );
  return del?.Count ?? 0;
}
/** Rows of a DuckDB row group. */
const ROW_GROUP_ROWS = 122_880;
/**
 * Row groups' worth of lines per chunk: 4 for the first (DuckDB starts while the rest is
 * unzipped), then 8. Measured on the demo's 1M events (median of CLI runs): 2, 4, 6: 4.7 s;
 * 1, 2, 4, 6: 5.2 s; 3, 6: 4.4–4.9 s; 8: 4.5 s; 4, 8: 3.9–4.1 s. 10M: 2, 4, 6: 38.8 s; 4, 8: 37.0 s.
 */
const CHUNK_ROW_GROUPS = [4, 8];

/**
 * The keys of the records without a uuid (docs/ingest.md, "Identity of a record"): the content
 * key `ckey` (classify) with the record's occurrence among the file's records of that content,
 * counted in file order (record number, then staging order, which is the file's) and on from
 * the batches before (`_ingest_occ`: per content key, how many earlier batches of the file had).
 */
async function assignDerivedKeys(engine: Engine): Promise<void> {
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _ingest_occ_batch AS
    SELECT rowid AS r, ckey, row_number() OVER (PARTITION BY ckey ORDER BY ord, rowid) AS k
    FROM _ingest_rows WHERE ckey IS NOT NULL`),
  );
  await engine.exec(
    raw(`UPDATE _ingest_rows SET uuid = sextant_derived_uuid(o.ckey, o.k) FROM (
      SELECT b.r, b.ckey, b.k + coalesce(e.n, 0) AS k FROM _ingest_occ_batch b
      LEFT JOIN (SELECT ckey, sum(n) AS n FROM _ingest_occ WHERE ckey IN (SELECT ckey FROM _ingest_occ_batch) GROUP BY ckey) e
        ON e.ckey = b.ckey) o
    WHERE _ingest_rows.rowid = o.r`),
  );
  await engine.exec(
    raw('INSERT INTO _ingest_occ SELECT ckey, count(*) FROM _ingest_occ_batch GROUP BY ckey'),
  );
}

/** DuckDB's `EventImportSteps`: one per import (it keeps the settings `begin` replaced). */
export class DuckDbEventImport implements EventImportSteps {
  readonly #engine: Engine;
  #saved: { v: string; c: string } | undefined;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  chunkLines(k: number): number {
    return ROW_GROUP_ROWS * (CHUNK_ROW_GROUPS[Math.min(k, CHUNK_ROW_GROUPS.length - 1)] ?? 1);
  }

  async begin(): Promise<void> {
    const engine = this.#engine;
    // Keep a large import's working set bounded (peak RSS < 1.5 GB at 10M events): DuckDB spills
    // the staging tables to disk beyond this. The caller's setting is restored by `end`.
    const [limit] = await engine.query<{ v: string; c: string }>(
      raw(`SELECT current_setting('memory_limit') AS v, current_setting('checkpoint_threshold') AS c`),
    );
    this.#saved = limit;
    await this.#memoryLimit(IMPORT_MEMORY_LIMIT);
    // Each chunk commits on its own, leaving a part-filled row group; the checkpoint merges those.
    // Once, at the end: checkpoints after each chunk rewrote them again and again.
    await engine.exec(raw(`SET checkpoint_threshold = '1TB'`));
  }

  async createScratch(): Promise<void> {
    const engine = this.#engine;
    for (const t of TEMP_TABLES) await engine.exec(raw(`DROP TABLE IF EXISTS ${t}`));
    await this.resetChanged();
    await engine.exec(raw('CREATE TEMP TABLE _ingest_keys (h UBIGINT)'));
    await engine.exec(raw('CREATE TEMP TABLE _ingest_occ (ckey VARCHAR, n BIGINT)'));
  }

  async resetChanged(): Promise<void> {
    await this.#engine.exec(
      raw(
        'CREATE OR REPLACE TEMP TABLE _ingest_changed (distinct_id VARCHAR, person_id VARCHAR, old_person_id VARCHAR)',
      ),
    );
  }

  async dropScratch(): Promise<void> {
    const engine = this.#engine;
    for (const t of [...TEMP_TABLES, '_ingest_changed']) await engine.exec(raw(`DROP TABLE IF EXISTS ${t}`));
    await dropIdentityTemps(engine);
  }

  /**
   * The batches are stored: the end of the import (overrides, persons, groups) runs with room for
   * the persons. They are stored with their primary key's index, which DuckDB cannot spill: under
   * the batches' 800MB, 2M new persons (an import of 2M `$identify`, 4M distinct_ids) failed, and
   * every later import with them; they took 1.6 GB (1.2 failed). So the limit grows by
   * `FINISH_BYTES_PER_ID` per distinct_id known, within the caller's: the 10M demo (42,215 ids)
   * keeps 800MB and its peak RSS (with the caller's limit it peaked at 1.9 GB).
   */
  async finishing(): Promise<void> {
    const limit = this.#saved;
    if (!limit) return;
    const [ids] = await this.#engine.query<{ n: number }>(
      raw('SELECT count(*)::BIGINT AS n FROM person_distinct_ids'),
    );
    const caller = sizeBytes(limit.v) ?? Infinity;
    const floor = sizeBytes(IMPORT_MEMORY_LIMIT) ?? 0;
    const want = Math.min(caller, Math.max(floor, Number(ids?.n ?? 0) * FINISH_BYTES_PER_ID));
    if (want > floor) await this.#memoryLimit(`${Math.ceil(want / 2 ** 20)}MiB`);
  }

  /** DuckDB's memory limit (the instance's), as DuckDB spells a size: `800MB`, `18.8 GiB`. */
  async #memoryLimit(size: string): Promise<void> {
    await this.#engine.exec(raw(`SET memory_limit = '${size.replaceAll("'", '')}'`));
  }

  async end(inserted: number): Promise<void> {
    const engine = this.#engine;
    const limit = this.#saved;
    // A large import is checkpointed under the import's memory limit: left to the close, with the
    // caller's limit, it took 3.5 GB at 10M events.
    try {
      if (inserted >= CHECKPOINT_AFTER) {
        if (limit) await this.#memoryLimit(IMPORT_MEMORY_LIMIT);
        await engine.exec(raw('CHECKPOINT'));
      }
    } finally {
      // The caller's settings back even when the checkpoint failed (a server would otherwise keep
      // the import's '1TB' threshold and grow its WAL).
      if (limit) {
        await this.#memoryLimit(limit.v);
        await engine.exec(raw(`SET checkpoint_threshold = '${limit.c.replaceAll("'", '')}'`));
      }
    }
    if (limit) {
      // DuckDB checkpoints by itself when a commit leaves the WAL past the threshold, but the
      // import's commits ran under '1TB' and none follows here: a process that imports small
      // files again and again (the server's capture loader) grew its WAL by every import until
      // it closed. The threshold restored applies now.
      const threshold = sizeBytes(limit.c);
      if (inserted < CHECKPOINT_AFTER && threshold !== undefined && walBytes(engine.target) > threshold) {
        await engine.exec(raw('CHECKPOINT'));
      }
    }
  }

  async importTime(): Promise<Sql> {
    const [row] = await this.#engine.query<{ t: string }>(
      raw(
        `SELECT greatest(now(), coalesce((SELECT max(imported_at) FROM imports), now()) + INTERVAL 1 MICROSECOND)::VARCHAR AS t`,
      ),
    );
    return importedAtSql(row?.t ?? '');
  }

  async source(format: EventSourceFormat, path: string, gzip: boolean): Promise<EventSource> {
    switch (format) {
      case 'jsonl-fast':
        return jsonLinesFastSource(path, gzip);
      case 'jsonl':
        return jsonLinesSource(path, gzip);
      case 'json-array':
        return jsonArraySource(path, gzip);
      default:
        return tabularSource(this.#engine, path, format, gzip);
    }
  }

  classify(source: EventSource, latest: Date, stage?: boolean): Promise<void> {
    return classify(this.#engine, source as Source, { latest }, stage);
  }

  async batchCounts(bad: boolean): Promise<{ records: number; bad: number; derived: number }> {
    // A record near the line-length limit goes to the line reader too, which measures the line
    // itself (the JSON reader's own limit is not the same).
    const badSql = bad
      ? raw(`count(*) FILTER (WHERE reason IS NOT NULL
          OR strlen(properties::VARCHAR) + strlen(event) + strlen(distinct_id) > ${MAX_LINE_BYTES / 2})::BIGINT`)
      : raw('0');
    const [c] = await this.#engine.query<{ records: number; bad: number; derived: number }>(
      sql`SELECT count(*)::BIGINT AS records, ${badSql} AS bad, count(ckey)::BIGINT AS derived FROM _ingest_rows`,
    );
    return { records: c?.records ?? 0, bad: c?.bad ?? 0, derived: c?.derived ?? 0 };
  }

  badRecords(
    source: EventSource,
  ): Promise<{ line: number; reason: string; field: string | null; raw: string | null }[]> {
    return this.#engine.query(
      sql`SELECT ord_line AS line, reason, field, raw FROM ${lineOf(source as Source)} WHERE reason IS NOT NULL ORDER BY ord_line`,
    );
  }

  assignDerivedKeys(): Promise<void> {
    return assignDerivedKeys(this.#engine);
  }

  async resetOccurrences(): Promise<void> {
    await this.#engine.exec(raw('DELETE FROM _ingest_occ'));
  }

  /**
   * Inside a transaction: resolve identity for `_ingest_rows`, insert its new events with their
   * persons (`imported_at` = `at`); events stored before whose person changed get overrides at
   * the end. Adds the ids whose person changed to `_ingest_changed`.
   *
   * The staged rows are committed before this transaction starts: DuckDB scans a table written in
   * the running transaction with one thread (its rows are not counted for the scan's parallelism),
   * so staging inside it made the INSERT single-threaded.
   */
  async storeBatch(at: Sql, sourceName: string): Promise<StoredBatch> {
    const engine = this.#engine;
    // Stored by an earlier import: the scan skips this import's row groups (zone maps). Without
    // events of an earlier import (a first import), the join is left out: its scan still read the
    // uuids of this import's chunks stored so far (10M demo events: 0.1–0.4 s a chunk under load).
    const earlier = await hasRows(engine, sql`SELECT 1 FROM events WHERE imported_at < ${at}`);
    await engine.exec(
      earlier
        ? sql`CREATE OR REPLACE TEMP TABLE _ingest_seen AS
      SELECT DISTINCT uuid FROM _ingest_rows
      WHERE reason IS NULL AND uuid IN (SELECT uuid FROM events WHERE imported_at < ${at})`
        : raw('CREATE OR REPLACE TEMP TABLE _ingest_seen AS SELECT uuid FROM _ingest_rows LIMIT 0'),
    );
    await engine.exec(DUPS);
    // The filters for duplicates and for events stored before are left out when there are none
    // (a first import: 1M events, 0.1 s less).
    const [c] = await engine.query<{ dups: number; seen: number }>(
      raw(
        `SELECT (SELECT count(*) FROM _ingest_dups)::BIGINT AS dups, (SELECT count(*) FROM _ingest_seen)::BIGINT AS seen`,
      ),
    );
    const anySkipped = Boolean(c?.dups || c?.seen);
    if (anySkipped) await engine.exec(skipped(Boolean(c?.seen)));
    // Identity from the records stored only: a duplicate's or an already stored uuid's merge
    // would stand for an event that is not in `events`.
    await resolveIdentity(engine, storedRows(anySkipped), undefined, { full: isImportStage(engine) });
    const [ins] = await engine.query<{ Count: number }>(sql`INSERT INTO events
      (uuid, event, distinct_id, person_id, timestamp, properties, organization, groups, has_set, source, imported_at)
      SELECT n.uuid, n.event, n.distinct_id, coalesce(p.person_id, n.distinct_id), n.timestamp, n.properties,
        n.organization, n.groups, n.has_set, ${sourceName}, ${at}
      FROM ${storedRows(anySkipped)} n
      LEFT JOIN person_distinct_ids p ON p.distinct_id = n.distinct_id`);
    await engine.exec(raw('INSERT INTO _ingest_changed SELECT * FROM _id_changed'));
    // One hash per uuid of the batch, for `removeImportsDoubles`: each record but the losers of
    // a uuid the batch repeats.
    await engine.exec(
      raw(
        `INSERT INTO _ingest_keys SELECT hash(uuid) FROM _ingest_rows WHERE reason IS NULL${
          c?.dups ? ' AND rowid NOT IN (SELECT r FROM _ingest_skip WHERE loser)' : ''
        }`,
      ),
    );
    const stored: StoredBatch = {
      inserted: ins?.Count ?? 0,
      uuidStored: 0,
      contentStored: 0,
      uuidRepeated: 0,
      contentRepeated: 0,
    };
    // The batch's duplicates by rule: already stored (a record, not a uuid, each), or a loser of
    // a uuid the batch holds more than once: the skipped records. Counted only when there are any.
    if (c?.seen || c?.dups) {
      const [d] = await engine.query<Record<string, number>>(
        raw(`SELECT
          count(*) FILTER (WHERE k.seen AND g.ckey IS NULL)::BIGINT AS uuid_stored,
          count(*) FILTER (WHERE k.seen AND g.ckey IS NOT NULL)::BIGINT AS content_stored,
          count(*) FILTER (WHERE NOT k.seen AND g.ckey IS NULL)::BIGINT AS uuid_repeated,
          count(*) FILTER (WHERE NOT k.seen AND g.ckey IS NOT NULL)::BIGINT AS content_repeated
        FROM _ingest_skip k JOIN _ingest_rows g ON g.rowid = k.r`),
      );
      stored.uuidStored = d?.uuid_stored ?? 0;
      stored.contentStored = d?.content_stored ?? 0;
      stored.uuidRepeated = d?.uuid_repeated ?? 0;
      stored.contentRepeated = d?.content_repeated ?? 0;
    }
    return stored;
  }

  removeImportsDoubles(at: Sql): Promise<number> {
    return removeImportsDoubles(this.#engine, at);
  }

  async unfinishedImports(): Promise<Sql[]> {
    const rows = await this.#engine.query<{ t: string }>(
      raw(`SELECT imported_at::VARCHAR AS t FROM imports WHERE kind = 'events' AND finished_at IS NULL`),
    );
    return rows.map((u) => importedAtSql(u.t));
  }

  async removeInterruptedDoubles(imports: readonly Sql[]): Promise<void> {
    // Interrupted before its end-of-import dedupe: its uuids stored twice are found among its
    // events (it left no hashes).
    const list = listOf(imports);
    await this.#engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_cands AS
      SELECT hash(uuid) AS h FROM events WHERE imported_at IN (${list}) GROUP BY 1 HAVING count(*) > 1`);
    await removeStoredTwice(this.#engine, list);
  }

  async gatherChanged(checkEvents: boolean): Promise<void> {
    const engine = this.#engine;
    await engine.exec(
      raw('CREATE OR REPLACE TEMP TABLE _id_changed AS SELECT DISTINCT * FROM _ingest_changed'),
    );
    if (checkEvents) {
      // The person each event is on now is the one it leaves; the persons events move from and
      // to are recomputed.
      await engine.exec(
        raw(`INSERT INTO _id_changed SELECT DISTINCT e.distinct_id, p.person_id, e.person_id
        FROM ${eventsWithPersons('e').toString()} JOIN person_distinct_ids p USING (distinct_id)
        WHERE e.person_id <> p.person_id`),
      );
    }
  }

  upsertOverrides(): Promise<void> {
    return upsertOverrides(this.#engine);
  }

  async repairInterruptedLedgers(imports: readonly Sql[], repeatedRule: string): Promise<void> {
    const othersList = listOf(imports);
    await this.#engine.exec(sql`UPDATE imports SET inserted = e.n,
        records = CASE WHEN imports.duplicates IS NULL THEN e.n + imports.rejected ELSE imports.records END,
        duplicates = CASE WHEN imports.duplicates IS NULL THEN 0 ELSE imports.duplicates + imports.inserted - e.n END,
        duplicate_rules = CASE WHEN imports.duplicates IS NULL OR imports.inserted = e.n
          THEN coalesce(imports.duplicate_rules, '{}'::JSON)
          ELSE json_merge_patch(coalesce(imports.duplicate_rules, '{}'::JSON), json_object(${repeatedRule},
            coalesce(json_extract(imports.duplicate_rules, ${'$."' + repeatedRule + '"'})::BIGINT, 0)
              + imports.inserted - e.n)) END,
        updated = coalesce(imports.updated, 0), skipped = coalesce(imports.skipped, 0),
        skipped_types = coalesce(imports.skipped_types, '{}'::JSON)
        FROM (SELECT imported_at, count(*) AS n FROM events WHERE imported_at IN (${othersList}) GROUP BY 1) e
        WHERE imports.kind = 'events' AND imports.imported_at = e.imported_at`);
  }

  async refreshPersonsAndGroups(imports: readonly Sql[]): Promise<void> {
    const scope = sql`(SELECT uuid, event, distinct_id, timestamp, properties, groups, has_set FROM events
      WHERE imported_at IN (${listOf(imports)}))`;
    await refreshPersons(this.#engine, scope);
    await refreshGroups(this.#engine, scope);
  }

  applyIdentity(since?: Date): Promise<void> {
    return applyIdentityDuckDb(this.#engine, since);
  }
}

/** Bytes of a size as DuckDB prints a setting (`16.0 MiB`, `1.0 GB`, `0 bytes`); undefined if not one. */
export function sizeBytes(text: string): number | undefined {
  const m = /^\s*([\d.]+)\s*([KMGT]i?B|bytes?|B)?\s*$/i.exec(text);
  if (!m?.[1]) return undefined;
  const unit = (m[2] ?? 'B').toUpperCase();
  const power = { K: 1, M: 2, G: 3, T: 4 }[unit[0] as 'K' | 'M' | 'G' | 'T'] ?? 0;
  const base = unit.includes('I') ? 1024 : 1000;
  return Number(m[1]) * base ** power;
}

/** Bytes in the WAL beside a DuckDB file (0 without one, or in memory). */
function walBytes(target: string): number {
  try {
    return statSync(`${target}.wal`).size;
  } catch {
    return 0;
  }
}

/** Import timestamps (`importedAtSql` literals) as an IN list. */
function listOf(imports: readonly Sql[]): Sql {
  return raw(imports.map((t) => t.toString()).join(', '));
}

/**
 * Loading PostHog-format event files into DuckDB (SPEC §3.1), set-based from end to end. The
 * rules (validation, dedupe, timestamps, rejects) and the loading plan are in docs/ingest.md.
 *
 * - Fast path (clean JSON Lines, `loadJsonLinesFast`): the file whole, or in chunks of whole row
 *   groups' worth of lines; each chunk read by DuckDB's JSON reader and classified into
 *   `_ingest_rows` (committed), then stored in its own transaction (`storeStaged`: identity,
 *   dedupe against earlier imports, INSERT). At the end `dedupeImport` (a uuid two chunks stored)
 *   and `finishImport` (identity overrides, persons, groups, the `imports` row).
 * - Line path (any bad record, JSON arrays, CSV, Parquet): one pass classifies every record into
 *   `_ingest_rows` with its fault (field, reason) or its normalized columns. JSON Lines are read
 *   as raw lines with DuckDB's CSV reader (one VARCHAR column, a delimiter that cannot appear in
 *   valid JSON), so a bad line never stops the scan; lines the reader rejects (invalid UTF-8) land
 *   in its rejects table with their line. Physical lines are worked out only for bad records
 *   (`lineOf`). The good records are stored as one batch, then the same end steps.
 */
import { createReadStream } from 'node:fs';
import { open, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import type { Engine } from '../engine.js';
import { eventsWithPersons } from '../events.js';
import { faultPoint } from '../fault.js';
import { removeScratch, scratchDir } from '../scratch.js';
import { stageStoredEvents } from '../staging.js';
import { raw, sql, type Sql } from '../sql.js';
import { inTransaction } from '../transaction.js';
import { InputError } from '../../errors.js';
import { recordImport } from '../../ingest/ledger.js';
import { salvageJsonArray } from '../../ingest/posthog/array-salvage.js';
import type { RejectedRecord } from '../../ingest/report.js';
import {
  EARLIEST_EVENT_TIME,
  EVENT_RULES,
  reasonPrefix,
  reasonText,
  type EventRuleKey,
} from '../../ingest/posthog/rules.js';
import {
  dropIdentityTemps,
  refreshGroups,
  refreshPersons,
  resolveIdentity,
  upsertOverrides,
} from './ingest-identity.js';

export type StagedFormat = 'jsonl' | 'json-array' | 'csv' | 'parquet';

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
export interface Limits {
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

const IMPORT_MEMORY_LIMIT = '1GB';
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
interface Source {
  relation: Sql;
  /** Lines before the first record (a CSV header). */
  lineOffset: number;
  /** Whether the DuckDB CSV reader ran with a rejects table. */
  readerRejects: boolean;
  /** Whether record numbers are physical lines (JSON Lines, CSV) or record indexes. */
  physicalLines: boolean;
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
 * extracted only from properties that mention it.
 */
function jsonLinesFastSource(file: string, gzip: boolean): Source {
  return {
    relation: sql`(SELECT NULL::BIGINT AS ord,
        event AS j1, distinct_id AS j2, "timestamp" AS j3, properties AS j4, uuid AS j5, "$set" AS j6, "$set_once" AS j7,
        CASE WHEN distinct_id IS NULL OR distinct_id = 'null' THEN json_extract(properties, '$.distinct_id') END AS j8,
        CASE WHEN starts_with(properties, '{') AND contains(properties, '"$groups"')
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
      contains(properties, '"$set') AS has_set,
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

export interface LoadedEventFile {
  records: number;
  inserted: number;
  duplicates: number;
  duplicateRules: Record<string, number>;
  rejected: RejectedRecord[];
  /** The text of bad records when the format has no physical lines (JSON array, Parquet). */
  rejectedText?: { line: number; raw: string | null }[];
}

/** The good records just read, as the scope identity, persons and groups are refreshed for. */
const GOOD = raw('(SELECT * FROM _ingest_rows WHERE reason IS NULL)');

/**
 * `_ingest_dups(uuid, win)`: for each uuid that more than one good record of `_ingest_rows` has,
 * the rowid of the one stored: the earliest timestamp, then the first record (then the first row
 * of `_ingest_rows`: a fast-path chunk has no record numbers). Found by a hash aggregate of the
 * uuids' 64-bit hashes (then by uuid among the few candidates), not by sorting every record by
 * uuid (several times slower).
 */
const DUPS = raw(`CREATE OR REPLACE TEMP TABLE _ingest_dups AS
  SELECT uuid, arg_min(rowid, (timestamp, ord, rowid)) AS win FROM _ingest_rows
  WHERE reason IS NULL AND hash(uuid) IN (SELECT hash(uuid) FROM _ingest_rows WHERE reason IS NULL GROUP BY 1 HAVING count(*) > 1)
  GROUP BY uuid HAVING count(*) > 1`);

/**
 * The good records of `_ingest_rows`, one per uuid. One scan with joins (no UNION), so the INSERT
 * reading it keeps the scan's order and DuckDB's ordered insert writes whole row groups: a
 * parallel unordered insert left part-filled ones that the checkpoint then merged (10M events:
 * 5.2 s of checkpoint).
 */
function winners(anyDups: boolean): Sql {
  return anyDups
    ? raw(`(SELECT g.* FROM _ingest_rows g LEFT JOIN _ingest_dups d ON d.uuid = g.uuid
        WHERE g.reason IS NULL AND (d.win IS NULL OR d.win = g.rowid))`)
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

/** The rules by which a good record is a duplicate (`ImportReport.duplicateRules` keys). */
export const DUPLICATE_RULES = {
  /** Its uuid was stored by an earlier import. */
  uuidStored: 'uuid, already stored',
  /** Another record of the file with its uuid was stored (the earliest timestamp wins). */
  uuidRepeated: 'uuid, repeated in the file',
  /** Without a uuid: its content and occurrence were stored by an earlier import. */
  contentStored: 'content+occurrence, already stored',
  /** Without a uuid: its derived key equals another record's of the file (only a uuid can). */
  contentRepeated: 'content+occurrence, repeated in the file',
} as const;

/**
 * An import's ledger (docs/ingest.md, "The import ledger"): records = inserted + duplicates (by
 * rule) + rejected at every commit. Events that two chunks both stored count as inserted until
 * the end of the import removes one (then as `uuid, repeated in the file`).
 */
export interface Ledger {
  records: number;
  inserted: number;
  rejected: RejectedRecord[];
  rules: Record<string, number>;
}

function addRule(rules: Record<string, number>, rule: string, n: number): void {
  if (n) rules[rule] = (rules[rule] ?? 0) + n;
}

export function ledgerDuplicates(l: Ledger): number {
  return Object.values(l.rules).reduce((a, b) => a + b, 0);
}

/** A running import: its timestamp, its source, whether its `imports` row is written, its ledger. */
interface ImportRun {
  at: Sql;
  source: string;
  logged: boolean;
  ledger: Ledger;
  /** Where the import's rejects file is written (named in its row when anything was rejected). */
  rejectsFile?: string;
}

/**
 * Starts an import. Its timestamp is after every earlier import's, so "stored before this
 * import" is `imported_at < at`. Its `imports` row (without `finished_at` until `finishImport`)
 * is written with the first events it stores, in their transaction (`logImport`).
 */
async function beginImport(engine: Engine, source: string, rejectsFile?: string): Promise<ImportRun> {
  const [row] = await engine.query<{ t: string }>(
    raw(
      `SELECT greatest(now(), coalesce((SELECT max(imported_at) FROM imports), now()) + INTERVAL 1 MICROSECOND)::VARCHAR AS t`,
    ),
  );
  return {
    at: importedAtSql(row?.t ?? ''),
    source,
    logged: false,
    ledger: { records: 0, inserted: 0, rejected: [], rules: {} },
    rejectsFile,
  };
}

/**
 * Inside a transaction: the import's `imports` row with its ledger as it stands (`recordImport`,
 * which refuses counts that do not add up), inserted with the first events it stores and
 * updated with each later batch, so that a kill between two commits leaves a row whose counts
 * add up for what was committed. `finished_at` is set by `finishImport`.
 */
async function logImport(engine: Engine, run: ImportRun): Promise<void> {
  const l = run.ledger;
  await recordImport(
    engine,
    {
      file: run.source,
      kind: 'events',
      records: l.records,
      inserted: l.inserted,
      updated: 0,
      duplicates: ledgerDuplicates(l),
      duplicateRules: { ...l.rules },
      rejected: l.rejected,
      rejectsFile: l.rejected.length > 0 ? run.rejectsFile : undefined,
    },
    { importedAt: run.at, source: run.source, finished: false },
  );
}

/**
 * Ends an import, in one transaction: the distinct_ids whose person the import changed
 * (`_ingest_changed`) get their new person in `person_overrides` (events are never rewritten),
 * once for all chunks (per chunk, each check scanned every stored event); persons and groups are
 * refreshed for the events it stored; its counts are logged. An earlier events import interrupted
 * before this step is finished too: every event's person now (store/events.ts) is checked against
 * the map (its changed ids are lost), and its events are in the refresh. Without `run`, only the
 * interrupted imports are finished.
 */
async function finishImport(engine: Engine, run?: ImportRun): Promise<void> {
  const at = run?.at.toString();
  const unfinished = (
    await engine.query<{ t: string }>(
      raw(`SELECT imported_at::VARCHAR AS t FROM imports WHERE kind = 'events' AND finished_at IS NULL`),
    )
  ).map((u) => importedAtSql(u.t).toString());
  const list = raw([...new Set([...unfinished, ...(at ? [at] : [])])].join(', '));
  const others = unfinished.filter((t) => t !== at);
  const othersList = raw(others.join(', '));
  const scope = sql`(SELECT uuid, event, distinct_id, timestamp, properties, groups, has_set FROM events
    WHERE imported_at IN (${list}))`;
  await inTransaction(engine, async () => {
    if (others.length) {
      // Interrupted before its end-of-import dedupe: its uuids stored twice are found among its
      // events (it left no hashes).
      await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_cands AS
        SELECT hash(uuid) AS h FROM events WHERE imported_at IN (${othersList}) GROUP BY 1 HAVING count(*) > 1`);
      await removeStoredTwice(engine, othersList);
    }
    await engine.exec(
      raw('CREATE OR REPLACE TEMP TABLE _id_changed AS SELECT DISTINCT * FROM _ingest_changed'),
    );
    if (others.length) {
      // Its changed ids are lost: every event is checked against the map, before any override is written
      // (the person an event is on now is the one it leaves), and the persons events move from
      // and to are recomputed.
      await engine.exec(
        raw(`INSERT INTO _id_changed SELECT DISTINCT e.distinct_id, p.person_id, e.person_id
        FROM ${eventsWithPersons('e').toString()} JOIN person_distinct_ids p USING (distinct_id)
        WHERE e.person_id <> p.person_id`),
      );
    }
    // Events are not moved: their distinct_ids' new persons are recorded as overrides.
    await upsertOverrides(engine);
    if (others.length) {
      // Its ledger: the events it stored twice and that were removed above move from inserted
      // to duplicates (rows from before the ledger columns only count what they stored).
      await engine.exec(sql`UPDATE imports SET inserted = e.n,
        records = CASE WHEN imports.duplicates IS NULL THEN e.n + imports.rejected ELSE imports.records END,
        duplicates = CASE WHEN imports.duplicates IS NULL THEN 0 ELSE imports.duplicates + imports.inserted - e.n END,
        duplicate_rules = CASE WHEN imports.duplicates IS NULL OR imports.inserted = e.n
          THEN coalesce(imports.duplicate_rules, '{}'::JSON)
          ELSE json_merge_patch(coalesce(imports.duplicate_rules, '{}'::JSON), json_object(${DUPLICATE_RULES.uuidRepeated},
            coalesce(json_extract(imports.duplicate_rules, ${'$."' + DUPLICATE_RULES.uuidRepeated + '"'})::BIGINT, 0)
              + imports.inserted - e.n)) END,
        updated = coalesce(imports.updated, 0), skipped = coalesce(imports.skipped, 0),
        skipped_types = coalesce(imports.skipped_types, '{}'::JSON)
        FROM (SELECT imported_at, count(*) AS n FROM events WHERE imported_at IN (${othersList}) GROUP BY 1) e
        WHERE imports.kind = 'events' AND imports.imported_at = e.imported_at`);
    }
    await refreshPersons(engine, scope);
    await refreshGroups(engine, scope);
    if (run) await logImport(engine, run);
    await engine.exec(
      sql`UPDATE imports SET finished_at = now() WHERE kind = 'events' AND finished_at IS NULL AND imported_at IN (${list})`,
    );
  });
}

/**
 * Finishes the events imports that were interrupted (`imports.finished_at` NULL) as the next
 * import would: what a review reads is then the store complete imports leave. Returns how many
 * were finished.
 */
export async function finishInterruptedImports(engine: Engine): Promise<number> {
  const [u] = await engine.query<{ n: number }>(
    raw(`SELECT count(*)::INTEGER AS n FROM imports WHERE kind = 'events' AND finished_at IS NULL`),
  );
  if (!u?.n) return 0;
  try {
    await engine.exec(
      raw(
        'CREATE OR REPLACE TEMP TABLE _ingest_changed (distinct_id VARCHAR, person_id VARCHAR, old_person_id VARCHAR)',
      ),
    );
    await finishImport(engine);
  } finally {
    for (const t of [...TEMP_TABLES, '_ingest_changed']) await engine.exec(raw(`DROP TABLE IF EXISTS ${t}`));
    await dropIdentityTemps(engine);
  }
  return u.n;
}

/**
 * In one transaction: resolve identity for `_ingest_rows`, insert its new events with their
 * persons (`imported_at` = `at`), and write the import's ledger; events stored before whose
 * person changed get overrides at the end (`finishImport`). New: not stored by an earlier import;
 * the same uuid stored by an earlier chunk of this import is sorted out once, at the end
 * (`dedupeImport`). Adds the ids whose person changed to `_ingest_changed`. Returns the number
 * of events inserted.
 *
 * `batch.whole`: the batch is the whole file (the line-based path). Its counts replace the
 * ledger's, and what the fast path stored before it is stored again and removed in this same
 * transaction, so that the commit leaves a ledger that adds up.
 *
 * The staged rows are committed before this transaction starts: DuckDB scans a table written in
 * the running transaction with one thread (its rows are not counted for the scan's parallelism),
 * so staging inside it made the INSERT single-threaded.
 */
async function storeStaged(
  engine: Engine,
  run: ImportRun,
  batch: { records: number; rejected: RejectedRecord[]; whole: boolean },
): Promise<number> {
  const { at, source: sourceName } = run;
  const n = await inTransaction(engine, async () => {
    // Stored by an earlier import: the scan skips this import's row groups (zone maps).
    await engine.exec(
      sql`CREATE OR REPLACE TEMP TABLE _ingest_seen AS
      SELECT DISTINCT uuid FROM _ingest_rows
      WHERE reason IS NULL AND uuid IN (SELECT uuid FROM events WHERE imported_at < ${at})`,
    );
    await engine.exec(DUPS);
    // The joins for duplicates and for events stored before are left out when there are none
    // (a first import: 1M events, 0.1 s less).
    const [c] = await engine.query<{ dups: number; seen: number }>(
      raw(
        `SELECT (SELECT count(*) FROM _ingest_dups)::BIGINT AS dups, (SELECT count(*) FROM _ingest_seen)::BIGINT AS seen`,
      ),
    );
    const notSeen = c?.seen ? raw('WHERE n.uuid NOT IN (SELECT uuid FROM _ingest_seen)') : raw('');
    // Identity from the records stored only: a duplicate's or an already stored uuid's merge
    // would stand for an event that is not in `events`.
    await resolveIdentity(engine, sql`(SELECT n.* FROM ${winners(Boolean(c?.dups))} n ${notSeen})`);
    const [ins] = await engine.query<{ Count: number }>(sql`INSERT INTO events
      (uuid, event, distinct_id, person_id, timestamp, properties, organization, groups, has_set, source, imported_at)
      SELECT n.uuid, n.event, n.distinct_id, coalesce(p.person_id, n.distinct_id), n.timestamp, n.properties,
        n.organization, n.groups, n.has_set, ${sourceName}, ${at}
      FROM ${winners(Boolean(c?.dups))} n
      LEFT JOIN person_distinct_ids p ON p.distinct_id = n.distinct_id
      ${notSeen}`);
    await engine.exec(raw('INSERT INTO _ingest_changed SELECT * FROM _id_changed'));
    // One hash per uuid of the batch, for `dedupeImport`.
    await engine.exec(
      raw(`INSERT INTO _ingest_keys
      SELECT hash(uuid) FROM _ingest_rows WHERE reason IS NULL AND uuid NOT IN (SELECT uuid FROM _ingest_dups)
      UNION ALL SELECT hash(uuid) FROM _ingest_dups`),
    );
    const inserted = ins?.Count ?? 0;
    // The batch's duplicates by rule: already stored (a record, not a uuid, each), or a loser of
    // a uuid the batch holds more than once. Counted only when there are any.
    const rules: Record<string, number> = {};
    if (c?.seen || c?.dups) {
      const [d] = await engine.query<Record<string, number>>(
        raw(`SELECT
          count(*) FILTER (WHERE s.uuid IS NOT NULL AND g.ckey IS NULL)::BIGINT AS uuid_stored,
          count(*) FILTER (WHERE s.uuid IS NOT NULL AND g.ckey IS NOT NULL)::BIGINT AS content_stored,
          count(*) FILTER (WHERE s.uuid IS NULL AND d.win <> g.rowid AND g.ckey IS NULL)::BIGINT AS uuid_repeated,
          count(*) FILTER (WHERE s.uuid IS NULL AND d.win <> g.rowid AND g.ckey IS NOT NULL)::BIGINT AS content_repeated
        FROM _ingest_rows g LEFT JOIN _ingest_seen s ON s.uuid = g.uuid LEFT JOIN _ingest_dups d ON d.uuid = g.uuid
        WHERE g.reason IS NULL`),
      );
      addRule(rules, DUPLICATE_RULES.uuidStored, d?.uuid_stored ?? 0);
      addRule(rules, DUPLICATE_RULES.contentStored, d?.content_stored ?? 0);
      addRule(rules, DUPLICATE_RULES.uuidRepeated, d?.uuid_repeated ?? 0);
      addRule(rules, DUPLICATE_RULES.contentRepeated, d?.content_repeated ?? 0);
    }
    const l = run.ledger;
    if (batch.whole) {
      const removed = l.inserted > 0 ? await removeImportsDoubles(engine, at) : 0;
      run.ledger = {
        records: batch.records,
        rejected: batch.rejected,
        inserted: l.inserted + inserted - removed,
        rules,
      };
    } else {
      l.records += batch.records;
      l.rejected.push(...batch.rejected);
      l.inserted += inserted;
      for (const [k, v] of Object.entries(rules)) addRule(l.rules, k, v);
    }
    await logImport(engine, run);
    return inserted;
  });
  run.logged = true;
  return n;
}

/**
 * A uuid this import stored more than once (in two chunks, or by the fast path and again by the
 * line-based one) keeps the event with the earliest timestamp, then the one stored first (= the
 * earlier line). Found once, after all chunks, from the 64-bit hashes each batch kept of its
 * uuids: a check per chunk against everything stored before grew with the file (10M events:
 * 1.1 s, and quadratic). The events removed move from inserted to `uuid, repeated in the file`
 * in the ledger, written in the same transaction. Returns the number of events removed.
 */
async function dedupeImport(engine: Engine, run: ImportRun): Promise<number> {
  return inTransaction(engine, async () => {
    const removed = await removeImportsDoubles(engine, run.at);
    run.ledger.inserted -= removed;
    addRule(run.ledger.rules, DUPLICATE_RULES.uuidRepeated, removed);
    if (removed) await logImport(engine, run);
    return removed;
  });
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
/** At most this many bytes of uncompressed JSON Lines per chunk, whatever its lines. */
const DEFAULT_CHUNK_BYTES = 512 * 1024 * 1024;

/**
 * The file's lines in consecutive chunk files under `dir`, gunzipped, cut after a newline (no line
 * is split). A chunk holds a whole number of DuckDB row groups' worth of lines (see
 * CHUNK_ROW_GROUPS), or fewer when it reaches `chunkBytes`: each chunk is committed on its own,
 * and a part-filled row group left by one is rewritten when the checkpoint merges it with the
 * next (1M demo events in chunks cut by size alone: 0.8 s of checkpoint; cut by lines: none).
 * Each chunk is written while the caller works on the previous one (the generator runs ahead to
 * its next `yield`).
 *
 * On a damaged gzip stream it throws after the chunks it cut before the damage; the line path
 * then reads the readable part with `unzipLines`, which must give at least every line those
 * chunks held (they are sorted out as this import's own duplicates). It does: both read the file
 * in the same 1 MiB pieces, gunzip pushes its output at the end of each piece and whenever its
 * output buffer fills (every 64 KiB there, a multiple of which is 1 MiB here), and `unzipLines`
 * keeps every push, so its prefix is never shorter (import-gzip.test.ts cuts a file at 12 points).
 */
async function* lineChunks(
  file: string,
  gzip: boolean,
  dir: string,
  chunkBytes: number,
): AsyncGenerator<string> {
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = gzip ? input.pipe(createGunzip({ chunkSize: 1 << 20 })) : input;
  // Written as it comes (never a whole chunk in memory: the import's RSS is DuckDB's).
  let out: FileHandle | undefined;
  let path = '';
  let size = 0;
  let lines = 0;
  let n = 0;
  const write = async (buf: Buffer): Promise<void> => {
    if (!out) {
      faultPoint('chunk file');
      path = join(dir, `chunk-${n++}.jsonl`);
      out = await open(path, 'w');
    }
    await out.write(buf);
    size += buf.length;
  };
  const close = async (): Promise<string> => {
    await out?.close();
    out = undefined;
    size = 0;
    lines = 0;
    return path;
  };
  try {
    for await (const read of stream as AsyncIterable<Buffer>) {
      let buf = read;
      for (;;) {
        // The chunk being written is number n - 1 once open, n before.
        const k = out ? n - 1 : n;
        const maxLines = ROW_GROUP_ROWS * (CHUNK_ROW_GROUPS[Math.min(k, CHUNK_ROW_GROUPS.length - 1)] ?? 1);
        // The chunk ends at its maxLines-th line or at the first newline at or past chunkBytes.
        let cut = -1;
        for (let pos = 0; ;) {
          const nl = buf.indexOf(10, pos);
          if (nl < 0) break;
          lines++;
          pos = nl + 1;
          if (lines >= maxLines || size + pos >= chunkBytes) {
            cut = nl;
            break;
          }
        }
        if (cut < 0) {
          if (buf.length > 0) await write(buf);
          break;
        }
        await write(buf.subarray(0, cut + 1));
        yield await close();
        buf = buf.subarray(cut + 1);
      }
    }
    if (out || n === 0) {
      if (!out) await write(Buffer.alloc(0));
      yield await close();
    }
  } finally {
    await out?.close();
    input.destroy();
  }
}

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

/**
 * The fast path for JSON Lines: the file in chunks of `chunkBytes`, each read by DuckDB's JSON
 * reader (`jsonLinesFastSource`), classified into `_ingest_rows` (a chunk's worth, in memory, never
 * spilled, whatever the file's size) and stored in its own transaction (`storeStaged`: identity,
 * dedupe, insert). Stops at the first chunk that cannot be read or holds any bad record:
 * `complete` is false and the line-based path reads the whole file again (what the chunks before
 * stored counts as this import's, so nothing is stored twice).
 */
async function loadJsonLinesFast(
  engine: Engine,
  file: string,
  gzip: boolean,
  run: ImportRun,
  progress: (msg: string) => void,
  chunkBytes: number,
  secs: () => string,
  limits: Limits,
): Promise<{ records: number; inserted: number; chunks: number; complete: boolean }> {
  // Beside the store, where the next import removes what a killed one left (store/scratch.ts).
  const dir = scratchDir(engine.target);
  // A file no larger than a chunk is read as it is (gzip included) by DuckDB: no unzipping in
  // Node, no chunk file to wait for (1M demo events: 4.1–4.3 s chunked, 3.7–3.9 s whole).
  const whole = (await uncompressedSize(file, gzip)) <= chunkBytes;
  const chunks = whole ? oneChunk(file) : lineChunks(file, gzip, dir, chunkBytes);
  let pending = chunks.next();
  pending.catch(() => undefined);
  let records = 0;
  let inserted = 0;
  let done = 0; // chunks stored
  try {
    for (let i = 0; ; i++) {
      let next: IteratorResult<string>;
      try {
        next = await pending;
      } catch (e) {
        // The file could not be read to its end (a damaged gzip stream): the line-based path
        // keeps its readable part and reports the damage.
        progress(`${file}: ${firstLine((e as Error).message)}`);
        return { records, inserted, chunks: i, complete: false };
      }
      if (next.done) break;
      pending = chunks.next();
      pending.catch(() => undefined);
      try {
        await classify(engine, jsonLinesFastSource(next.value, whole && gzip), limits, false);
      } catch (e) {
        // A malformed or very long line: the line-based reader finds and reports it.
        progress(`${file}: ${firstLine((e as Error).message)}`);
        return { records, inserted, chunks: i, complete: false };
      }
      if (!whole) await rm(next.value, { force: true });
      // A record near the line-length limit goes to the line-based reader too, which measures the
      // line itself (the JSON reader's own limit is not the same): chunks before it are stored.
      const [c] = await engine.query<{ records: number; bad: number; derived: number }>(
        raw(`SELECT count(*)::BIGINT AS records, count(*) FILTER (WHERE reason IS NOT NULL
          OR strlen(properties::VARCHAR) + strlen(event) + strlen(distinct_id) > ${MAX_LINE_BYTES / 2})::BIGINT AS bad,
          count(ckey)::BIGINT AS derived
        FROM _ingest_rows`),
      );
      if (c?.bad) return { records, inserted, chunks: i, complete: false };
      records += c?.records ?? 0;
      if (c?.derived) await assignDerivedKeys(engine);
      // On a ClickHouse import's DuckDB stage: the stored events this chunk's keys need.
      await stageStoredEvents(engine);
      inserted += await storeStaged(engine, run, { records: c?.records ?? 0, rejected: [], whole: false });
      progress(`${file}: chunk ${i + 1}: ${records} records read, ${inserted} new (${secs()})`);
      done = i + 1;
    }
    return { records, inserted, chunks: done, complete: true };
  } finally {
    await pending.catch(() => undefined);
    await chunks.return(undefined).catch(() => undefined);
    removeScratch(dir);
  }
}

// eslint-disable-next-line @typescript-eslint/require-await
async function* oneChunk(file: string): AsyncGenerator<string> {
  yield file;
}

/**
 * The file's size once unzipped. For gzip, the trailer's ISIZE (the size modulo 4 GiB of the
 * last member): a file whose trailer says more than it is, or a multi-member file, at worst is
 * staged whole and spilled to disk by DuckDB, slower but the same result.
 */
async function uncompressedSize(file: string, gzip: boolean): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (!gzip) return size;
    if (size < 18) return 0;
    const tail = Buffer.alloc(4);
    await fh.read(tail, 0, 4, size - 4);
    const isize = tail.readUInt32LE(0);
    // ISIZE wraps at 4 GiB; no text compresses 64-fold in practice.
    return Math.max(isize, size * 64 > 2 ** 32 ? Infinity : 0);
  } finally {
    await fh.close();
  }
}

interface GzipDamage {
  /** What went wrong and where (the detail of the `gzipCut` rejected record). */
  reason: string;
  /** The readable part's complete lines. */
  lines: number;
  /** With `write`: those lines, uncompressed, in `path` in the scratch folder `dir`. */
  path?: string;
  dir?: string;
}

/**
 * Whether the gzip stream of `file` is damaged (truncated or corrupt), found by unzipping it to
 * its end: undefined when it is whole. DuckDB's readers do not say so (a truncated stream reads
 * as a shorter file, a corrupt one as garbage lines). With `write`, the readable part up to its
 * last complete line is written uncompressed to a scratch folder beside the store. Streamed:
 * memory stays flat.
 */
async function gzipDamage(file: string, target?: string): Promise<GzipDamage | undefined> {
  const dir = target === undefined ? undefined : scratchDir(target);
  const path = dir && join(dir, 'readable-part');
  const out = path ? await open(path, 'w') : undefined;
  try {
    let read = await unzipLines(file, out);
    if (read.error === undefined) {
      if (dir) removeScratch(dir);
      return undefined;
    }
    const { error } = read;
    // A bad CRC or size in the trailer: the data is whole, but the failing step's output was
    // dropped with the error. Unzipped again without the trailer, it all comes out.
    if (out && /incorrect (data|length) check/.test(error)) {
      await out.truncate(0);
      const again = await unzipLines(file, out, (await stat(file)).size - 8);
      if (again.error === undefined) read = again;
    }
    const reason = `damaged after ${read.size} bytes unzipped (${error}); the rest of the file cannot be read`;
    return { reason, lines: read.lines, path, dir };
  } finally {
    await out?.close();
  }
}

/**
 * Unzips `file` (its first `length` bytes, as a cut stream, when given) into `out` (when given),
 * up to its last complete line: the bytes unzipped, the complete lines, the error if any.
 */
async function unzipLines(
  file: string,
  out: FileHandle | undefined,
  length?: number,
): Promise<{ size: number; lines: number; error?: string }> {
  let size = 0;
  let complete = 0; // bytes up to and including the last newline
  let lines = 0;
  let error: string | undefined;
  try {
    const input = createReadStream(file, {
      highWaterMark: 1 << 20,
      ...(length === undefined ? {} : { end: Math.max(0, length - 1) }),
    });
    const stream = input.pipe(
      // Small output chunks: what unzipped before an error is kept (a large chunk is dropped whole).
      createGunzip({
        chunkSize: 1 << 16,
        ...(length === undefined ? {} : { finishFlush: zlibConstants.Z_SYNC_FLUSH }),
      }),
    );
    // Every piece the stream emits is kept, in order, even when an error follows it at once
    // (iterating the stream with `for await` could drop the pieces still queued behind the error,
    // so the readable part came out shorter on some runs than what the chunked path had stored).
    // Not paused (a paused stream drops what it buffered when the error comes): the writes queue
    // behind each other, and a local disk writes faster than gunzip inflates, so the queue stays short.
    let writing: Promise<unknown> = Promise.resolve();
    error = await new Promise<string | undefined>((resolve) => {
      stream.on('data', (buf: Buffer) => {
        for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, nl + 1)) {
          lines++;
          complete = size + nl + 1;
        }
        const at = size;
        size += buf.length;
        if (out) writing = writing.then(() => out.write(buf, 0, buf.length, at));
      });
      stream.on('error', (e) => resolve(e.message));
      input.on('error', (e) => resolve(e.message));
      stream.on('end', () => resolve(undefined));
    });
    await writing;
  } catch (e) {
    error = (e as Error).message;
  }
  await out?.truncate(complete);
  return { size, lines, error };
}

export interface LoadOptions {
  /** Chunk size of the JSON Lines fast path, in uncompressed bytes (tests use tiny ones). */
  chunkBytes?: number;
  /** The latest event time accepted (the import's time plus the clock-skew allowance). */
  latest: Date;
  /** Where the caller writes the rejects, named in the ledger when anything is rejected. */
  rejectsFile?: string;
}

/**
 * The whole DuckDB import of one event file: read and classify, then in one transaction resolve
 * identity, insert the new events, rewrite moved persons, refresh persons and groups, log it.
 */
export async function loadEventFile(
  engine: Engine,
  file: string,
  kind: { format: StagedFormat; gzip: boolean },
  sourceName: string,
  progress: (msg: string) => void = () => undefined,
  opts: LoadOptions,
): Promise<LoadedEventFile> {
  const t0 = performance.now();
  const secs = (): string => ((performance.now() - t0) / 1000).toFixed(1) + 's';
  const limits: Limits = { latest: opts.latest };
  // Keep a large import's working set bounded (peak RSS < 2 GB at 10M events): DuckDB spills
  // the staging tables to disk beyond this. The caller's setting is restored afterwards.
  const [limit] = await engine.query<{ v: string; c: string }>(
    raw(`SELECT current_setting('memory_limit') AS v, current_setting('checkpoint_threshold') AS c`),
  );
  await engine.exec(raw(`SET memory_limit = '${IMPORT_MEMORY_LIMIT}'`));
  // Each chunk commits on its own, leaving a part-filled row group; the checkpoint merges those.
  // Once, at the end: checkpoints after each chunk rewrote them again and again.
  await engine.exec(raw(`SET checkpoint_threshold = '1TB'`));
  let finished = false;
  let run: ImportRun | undefined;
  let scratch: string | undefined;
  const result = (rejectedText?: LoadedEventFile['rejectedText']): LoadedEventFile => {
    const l = run!.ledger;
    return {
      records: l.records,
      inserted: l.inserted,
      duplicates: ledgerDuplicates(l),
      duplicateRules: { ...l.rules },
      rejected: l.rejected,
      rejectedText,
    };
  };
  try {
    for (const t of TEMP_TABLES) await engine.exec(raw(`DROP TABLE IF EXISTS ${t}`));
    await engine.exec(
      raw(
        'CREATE OR REPLACE TEMP TABLE _ingest_changed (distinct_id VARCHAR, person_id VARCHAR, old_person_id VARCHAR)',
      ),
    );
    await engine.exec(raw('CREATE TEMP TABLE _ingest_keys (h UBIGINT)'));
    await engine.exec(raw('CREATE TEMP TABLE _ingest_occ (ckey VARCHAR, n BIGINT)'));
    run = await beginImport(engine, sourceName, opts.rejectsFile);
    if (kind.format === 'jsonl') {
      const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
      // A gzip file read whole by DuckDB is checked for damage meanwhile (one that is cut into
      // chunks is unzipped by Node, which fails on damage; the line-based path checks its own).
      const check =
        kind.gzip && (await uncompressedSize(file, true)) <= chunkBytes ? gzipDamage(file) : undefined;
      check?.catch(() => undefined);
      const fast = await loadJsonLinesFast(engine, file, kind.gzip, run, progress, chunkBytes, secs, limits);
      const damaged = fast.complete ? await check : undefined;
      if (damaged) {
        // What DuckDB read is the readable part; the damage is one more rejected record.
        run.ledger.records++;
        run.ledger.rejected.push({ line: damaged.lines + 1, reason: reasonText('gzipCut', damaged.reason) });
      }
      if (fast.complete) {
        if (fast.chunks > 1) await dedupeImport(engine, run);
        progress(
          `${file}: stored ${run.ledger.inserted} new events; refreshing persons and groups (${secs()})`,
        );
        await finishImport(engine, run);
        finished = true;
        progress(`${file}: done (${secs()})`);
        return result();
      }
      progress(`${file}: bad records; reading line by line`);
    }
    const sourceOf = async (path: string, gzip: boolean): Promise<Source> =>
      kind.format === 'jsonl'
        ? jsonLinesSource(path, gzip)
        : kind.format === 'json-array'
          ? jsonArraySource(path, gzip)
          : await tabularSource(engine, path, kind.format, gzip);
    // A damaged gzip stream (truncated, corrupt): its readable part, up to its last complete
    // line, is read instead, and the damage is one rejected record (docs/ingest.md).
    let damage =
      kind.gzip && kind.format !== 'json-array' ? await gzipDamage(file, engine.target) : undefined;
    scratch = damage?.dir;
    if (damage) progress(`${file}: gzip data ${damage.reason}; reading its ${damage.lines} complete lines`);
    let source = await sourceOf(damage?.path ?? file, kind.gzip && !damage);
    // The rest of a JSON array cut short: one rejected record after its complete elements.
    let arrayTail: { line: number; reason: string; raw: string } | undefined;
    try {
      await classify(engine, source, limits);
    } catch (e) {
      if (e instanceof InputError)
        throw damage?.path ? new InputError(e.message.replaceAll(damage.path, file)) : e;
      const notReadable = new InputError(
        `not readable as ${kind.format}: ${firstLine((e as Error).message)}`,
        {
          file,
        },
      );
      // Not an array after all, or a broken one: keep what is good (src/ingest/posthog/array-salvage.ts).
      const salvage = kind.format === 'json-array' ? await salvageJsonArray(file, kind.gzip) : undefined;
      if (!salvage) throw notReadable;
      if (salvage.kind === 'lines') {
        progress(`${file}: not one JSON array; reading it as JSON Lines`);
        damage = kind.gzip ? await gzipDamage(file, engine.target) : undefined;
        scratch = damage?.dir;
        source = jsonLinesSource(damage?.path ?? file, kind.gzip && !damage);
      } else {
        progress(
          `${file}: the JSON array is cut short; reading its ${salvage.items.length} complete elements`,
        );
        scratch = scratchDir(engine.target);
        const whole = join(scratch, 'complete-elements.json');
        await writeFile(whole, `[${salvage.items.join(',\n')}]`);
        source = jsonArraySource(whole, false);
        arrayTail = { line: salvage.items.length + 1, ...salvage.tail, raw: salvage.tail.text };
      }
      try {
        await classify(engine, source, limits);
      } catch (again) {
        if (again instanceof InputError) throw again;
        throw notReadable;
      }
    }
    const [counts] = await engine.query<{ records: number; derived: number }>(
      raw(`SELECT count(*)::BIGINT AS records, count(ckey)::BIGINT AS derived FROM _ingest_rows`),
    );
    const bad = await engine.query<{
      line: number;
      reason: string;
      field: string | null;
      raw: string | null;
    }>(
      sql`SELECT ord_line AS line, reason, field, raw FROM ${lineOf(source)} WHERE reason IS NOT NULL ORDER BY ord_line`,
    );
    progress(`${file}: read ${counts?.records ?? 0} records, ${bad.length} bad (${secs()})`);
    // The file again from its first record: occurrences are counted from the start.
    await engine.exec(raw('DELETE FROM _ingest_occ'));
    if (counts?.derived) await assignDerivedKeys(engine);
    // What the fast path stored before it stopped is stored again and sorted out as this
    // import's own duplicates, in the same transaction.
    const rejected: RejectedRecord[] = bad.map(({ line, reason, field }) =>
      field === null ? { line, reason } : { line, reason, field },
    );
    if (damage) rejected.push({ line: damage.lines + 1, reason: reasonText('gzipCut', damage.reason) });
    if (arrayTail) rejected.push({ line: arrayTail.line, reason: arrayTail.reason });
    const records = (counts?.records ?? 0) + (damage ? 1 : 0) + (arrayTail ? 1 : 0);
    await stageStoredEvents(engine);
    await storeStaged(engine, run, { records, rejected, whole: true });
    progress(`${file}: stored ${run.ledger.inserted} new events; refreshing persons and groups (${secs()})`);
    await finishImport(engine, run);
    finished = true;
    progress(`${file}: done (${secs()})`);
    return result(
      source.physicalLines
        ? undefined
        : [
            ...bad.map(({ line, raw }) => ({ line, raw })),
            ...(arrayTail ? [{ line: arrayTail.line, raw: arrayTail.raw }] : []),
          ],
    );
  } catch (e) {
    // Say what the failure left: the events committed before it stay.
    if (run?.logged && e instanceof Error) {
      const [kept] = await engine
        .query<{ n: number }>(sql`SELECT count(*)::BIGINT AS n FROM events WHERE imported_at = ${run.at}`)
        .catch(() => [undefined]);
      if (kept?.n) {
        e.message += ` (${kept.n} events stored before this are kept; the next events import or review finishes them)`;
      }
    }
    throw e;
  } finally {
    if (scratch) removeScratch(scratch);
    for (const t of [...TEMP_TABLES, '_ingest_changed']) await engine.exec(raw(`DROP TABLE IF EXISTS ${t}`));
    await dropIdentityTemps(engine);
    // An import that failed having stored nothing leaves no trace; one that stored events is
    // finished (dedupe, persons, groups) by the next events import.
    if (run?.logged && !finished) {
      await engine.exec(
        sql`DELETE FROM imports WHERE kind = 'events' AND imported_at = ${run.at} AND finished_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM events WHERE imported_at = ${run.at})`,
      );
    }
    // A large import is checkpointed under the import's memory limit: left to the close, with the
    // caller's limit, it took 3.5 GB at 10M events.
    if ((run?.ledger.inserted ?? 0) >= CHECKPOINT_AFTER) await engine.exec(raw('CHECKPOINT'));
    if (limit) {
      await engine.exec(raw(`SET memory_limit = '${limit.v.replaceAll("'", '')}'`));
      await engine.exec(raw(`SET checkpoint_threshold = '${limit.c.replaceAll("'", '')}'`));
    }
  }
}

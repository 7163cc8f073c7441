/**
 * Loading PostHog-format event files into DuckDB (SPEC §3.1), set-based from end to end:
 *
 * 1. `stage…`: the file becomes `_ingest_src(line, raw, j, props_invalid, reader_reason)`. JSON
 *    Lines are read as raw lines with DuckDB's CSV reader (one VARCHAR column, a delimiter that
 *    cannot appear in valid JSON), so a bad line never stops the scan; lines the reader itself
 *    rejects (invalid UTF-8) land in its rejects table with their physical line. `j` is the list of
 *    the fields we need, extracted with one JSON parse per record (see FIELDS).
 * 2. `classify`: every record gets either a reason it is bad or its normalized columns
 *    (`_ingest_rows`). Timestamps normalize to UTC; a missing uuid becomes an md5 of
 *    (event, distinct_id, timestamp, properties) formatted as a UUID.
 * 3. `selectNew`: dedupe within the file (first line wins) and against `events` on uuid
 *    (`_ingest_new`).
 * The caller then resolves identity (ingest-identity.ts) and inserts. See docs/ingest.md.
 */
import type { Engine } from '../engine.js';
import { raw, sql, type Sql } from '../sql.js';
import { InputError } from '../../errors.js';
import {
  dropIdentityTemps,
  refreshGroups,
  refreshPersons,
  resolveIdentity,
  updateEventPersons,
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

const FIELDS_SQL = raw('[' + FIELDS.map((f) => `'${f}'`).join(', ') + ']');
/** Large enough for a 10 MB properties blob with room to spare. */
const MAX_LINE_BYTES = 256 * 1024 * 1024;

/** Reader errors (DuckDB `error_type`) in our words. */
const READER_REASONS: Record<string, string> = {
  'INVALID ENCODING': 'not valid UTF-8',
  'INVALID UNICODE': 'not valid UTF-8',
  'TOO MANY COLUMNS': 'invalid JSON (contains a raw control character)',
  'LINE SIZE OVER MAXIMUM': 'line longer than 256 MB',
};

export interface StageResult {
  /** Non-blank records read, good and bad. */
  records: number;
}

/** Drops the temporary tables of one import. */
export async function dropStage(engine: Engine): Promise<void> {
  for (const t of ['_ingest_lines', '_ingest_reader_rejects', '_ingest_src', '_ingest_rows', '_ingest_new']) {
    await engine.exec(raw(`DROP TABLE IF EXISTS ${t}`));
  }
}

function compression(gzip: boolean): Sql {
  return raw(gzip ? "'gzip'" : "'none'");
}

/**
 * Lines of a JSON Lines file into `_ingest_src`, each with its 1-based physical line. DuckDB's
 * ordinality counts the rows it returns; rows the reader rejected (with their physical line) are
 * not returned, so every later row shifts: line = ordinality + the number of rejected lines whose
 * (line − rank) is below the ordinality (rank: 1-based among rejected lines). `lineOffset` is 1
 * when a header line precedes the records.
 */
async function stageLines(engine: Engine, file: string, gzip: boolean): Promise<void> {
  await readWithRejects(
    engine,
    sql`SELECT ordinality AS ord, raw FROM read_csv(${file}, columns = {'raw': 'VARCHAR'}, delim = '\x01',
      quote = '', escape = '', header = false, auto_detect = false, compression = ${compression(gzip)},
      max_line_size = ${raw(String(MAX_LINE_BYTES))}, buffer_size = ${raw(String(MAX_LINE_BYTES * 2))},
      ${rejectsOptions()}) WITH ORDINALITY`,
  );
  await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_src AS
    SELECT line, raw, try(json_extract(raw, ${FIELDS_SQL})) AS j, false AS props_invalid,
      NULL::VARCHAR AS reader_reason
    FROM _ingest_lines WHERE raw IS NOT NULL AND trim(raw, ' \t\r') <> ''`);
  await engine.exec(readerRejectsInsert());
}

function rejectsOptions(): Sql {
  return raw(
    "store_rejects = true, ignore_errors = true, rejects_table = '_ingest_reader_rejects', rejects_scan = '_ingest_reader_scans'",
  );
}

async function readWithRejects(engine: Engine, reader: Sql, lineOffset = 0): Promise<void> {
  await engine.exec(
    raw('DROP TABLE IF EXISTS _ingest_reader_rejects; DROP TABLE IF EXISTS _ingest_reader_scans'),
  );
  await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_lines_ord AS ${reader}`);
  const [{ n } = { n: 0 }] = await engine.query<{ n: number }>(
    raw('SELECT count(*)::BIGINT AS n FROM _ingest_reader_rejects'),
  );
  const off = raw(String(lineOffset));
  if (n === 0) {
    await engine.exec(
      sql`CREATE OR REPLACE TEMP TABLE _ingest_lines AS SELECT ord + ${off} AS line, * EXCLUDE (ord) FROM _ingest_lines_ord`,
    );
  } else {
    await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_lines AS
      WITH ranked AS (
        SELECT line - ${off} - row_number() OVER (ORDER BY line) AS shift_key,
          row_number() OVER (ORDER BY line) AS shifted
        FROM (SELECT DISTINCT line FROM _ingest_reader_rejects)
      ), r AS (SELECT shift_key, max(shifted) AS shifted FROM ranked GROUP BY shift_key)
      SELECT l.ord + ${off} + coalesce(r.shifted, 0) AS line, l.* EXCLUDE (ord)
      FROM _ingest_lines_ord l ASOF LEFT JOIN r ON l.ord > r.shift_key`);
  }
  await engine.exec(raw('DROP TABLE _ingest_lines_ord'));
}

/** Rejected reader lines as `_ingest_src` rows with a `reader_reason`. */
function readerRejectsInsert(): Sql {
  const whens = Object.entries(READER_REASONS)
    .map(([k, v]) => `WHEN '${k}' THEN '${v.replaceAll("'", "''")}'`)
    .join(' ');
  return raw(`INSERT INTO _ingest_src (line, raw, j, props_invalid, reader_reason)
    SELECT line, NULL, NULL, false,
      min(CASE error_type ${whens} ELSE 'unreadable: ' || error_message END)
    FROM _ingest_reader_rejects GROUP BY line`);
}

/** A JSON array file: one record per element, numbered from 1. */
async function stageJsonArray(engine: Engine, file: string, gzip: boolean): Promise<void> {
  try {
    await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_src AS
      SELECT ordinality AS line, json::VARCHAR AS raw, try(json_extract(json, ${FIELDS_SQL})) AS j,
        false AS props_invalid, NULL::VARCHAR AS reader_reason
      FROM read_json(${file}, format = 'array', records = false, compression = ${raw(gzip ? "'gzip'" : "'uncompressed'")},
        maximum_object_size = ${raw(String(MAX_LINE_BYTES))}) WITH ORDINALITY`);
  } catch (e) {
    throw new InputError(`not a readable JSON array: ${firstLine((e as Error).message)}`, { file });
  }
}

const TABULAR_COLUMNS = ['event', 'distinct_id', 'timestamp', 'properties', 'uuid'] as const;
type TabularColumn = (typeof TABULAR_COLUMNS)[number];

/**
 * CSV (header required; every column text) and Parquet (typed columns): the same `j` list built
 * from columns. A text `properties` column holds JSON; a struct/map one is converted.
 */
async function stageTabular(
  engine: Engine,
  file: string,
  format: 'csv' | 'parquet',
  gzip: boolean,
): Promise<void> {
  const reader =
    format === 'parquet'
      ? sql`read_parquet(${file})`
      : sql`read_csv(${file}, header = true, all_varchar = true, auto_detect = true, quote = '"', escape = '"',
          compression = ${compression(gzip)}, max_line_size = ${raw(String(MAX_LINE_BYTES))},
          buffer_size = ${raw(String(MAX_LINE_BYTES * 2))}, ${rejectsOptions()})`;
  let columns: { column_name: string; column_type: string }[];
  try {
    columns = await engine.query(sql`DESCRIBE SELECT * FROM ${reader}`);
  } catch (e) {
    throw new InputError(
      `not a readable ${format === 'csv' ? 'CSV' : 'Parquet'} file: ${firstLine((e as Error).message)}`,
      {
        file,
      },
    );
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
  const propsIsText = types.has('properties') && types.get('properties') === 'VARCHAR';
  const props = propsIsText
    ? sql`CASE WHEN json_valid(${col('properties')}) THEN json(${col('properties')}) END`
    : sql`to_json(${col('properties')})`;
  const propsInvalid = propsIsText
    ? sql`(${col('properties')} IS NOT NULL AND trim(${col('properties')}) <> '' AND NOT json_valid(${col('properties')}))`
    : raw('false');

  if (format === 'csv') {
    await readWithRejects(engine, sql`SELECT ordinality AS ord, * FROM ${reader} WITH ORDINALITY`, 1);
  } else {
    await engine.exec(
      sql`CREATE OR REPLACE TEMP TABLE _ingest_lines AS SELECT ordinality AS line, * FROM ${reader} WITH ORDINALITY`,
    );
  }
  await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _ingest_src AS
    SELECT line, json_object(${raw(present.map((c) => `'${c}', "${c}"`).join(', '))})::VARCHAR AS raw,
      [to_json(${col('event')}), to_json(${col('distinct_id')}), to_json(${col('timestamp')}), p,
       to_json(${col('uuid')}), NULL, NULL, json_extract(p, '$.distinct_id'), json_extract(p, '$."$groups"')]::JSON[] AS j,
      props_invalid, NULL::VARCHAR AS reader_reason
    FROM (SELECT *, ${props} AS p, ${propsInvalid} AS props_invalid FROM _ingest_lines) t`);
  if (format === 'csv') await engine.exec(readerRejectsInsert());
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** Reads `file` into `_ingest_src`. Throws `InputError` only when the file as a whole is unreadable. */
export async function stageEventFile(
  engine: Engine,
  file: string,
  format: StagedFormat,
  gzip: boolean,
): Promise<StageResult> {
  if (format === 'jsonl') await stageLines(engine, file, gzip);
  else if (format === 'json-array') await stageJsonArray(engine, file, gzip);
  else await stageTabular(engine, file, format, gzip);
  const [{ n } = { n: 0 }] = await engine.query<{ n: number }>(
    raw('SELECT count(*)::BIGINT AS n FROM _ingest_src'),
  );
  return { records: n };
}

/**
 * `_ingest_src` → `_ingest_rows`: a reason and field for each bad record, the normalized columns
 * for each good one. The first failing check names the record's fault.
 */
export async function classifyStaged(engine: Engine): Promise<void> {
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _ingest_rows AS
    WITH f AS (
      SELECT line, raw, j, props_invalid, reader_reason,
        j IS NOT NULL AND (raw IS NULL OR starts_with(ltrim(raw, ' \t\r'), '{')) AS is_obj,
        json_type(j[1]) AS ev_t,
        CASE WHEN j[2] IS NULL OR json_type(j[2]) = 'NULL' THEN j[8] ELSE j[2] END AS did_j,
        json_type(j[3]) AS ts_t,
        json_type(j[4]) AS props_t,
        json_type(j[5]) AS uuid_t
      FROM _ingest_src
    ), g AS (
      SELECT *,
        CASE WHEN ev_t = 'VARCHAR' THEN j[1] ->> '$' END AS event,
        json_type(did_j) AS did_t,
        CASE json_type(did_j) WHEN 'VARCHAR' THEN did_j ->> '$'
          WHEN 'BIGINT' THEN did_j::VARCHAR WHEN 'UBIGINT' THEN did_j::VARCHAR WHEN 'DOUBLE' THEN did_j::VARCHAR
        END AS distinct_id,
        CASE WHEN ts_t = 'VARCHAR' THEN j[3] ->> '$' END AS ts_text
      FROM f
    ), h AS (
      SELECT *, try_cast(ts_text AS TIMESTAMPTZ) AS ts FROM g
    ), c AS (
      SELECT *,
        CASE
          WHEN reader_reason IS NOT NULL THEN [NULL, reader_reason]
          WHEN j IS NULL THEN [NULL, 'invalid JSON (truncated or malformed)']
          WHEN NOT is_obj THEN [NULL, 'not a JSON object']
          WHEN ev_t IS NULL OR ev_t = 'NULL' THEN ['event', 'missing']
          WHEN ev_t <> 'VARCHAR' THEN ['event', 'must be a string, got ' || lower(ev_t)]
          WHEN event = '' THEN ['event', 'is empty']
          WHEN did_t IS NULL OR did_t = 'NULL' THEN ['distinct_id', 'missing']
          WHEN distinct_id IS NULL THEN ['distinct_id', 'must be a string or number, got ' || lower(did_t)]
          WHEN distinct_id = '' THEN ['distinct_id', 'is empty']
          WHEN ts_t IS NULL OR ts_t = 'NULL' THEN ['timestamp', 'missing']
          WHEN ts_text IS NULL THEN ['timestamp', 'must be an ISO 8601 string, got ' || lower(ts_t)]
          WHEN ts IS NULL THEN ['timestamp', 'not an ISO 8601 timestamp: ' || left(ts_text, 40)]
          WHEN props_invalid THEN ['properties', 'not valid JSON']
          WHEN props_t IS NOT NULL AND props_t NOT IN ('OBJECT', 'NULL') THEN ['properties', 'must be an object, got ' || lower(props_t)]
          WHEN uuid_t IS NOT NULL AND uuid_t NOT IN ('VARCHAR', 'NULL') THEN ['uuid', 'must be a string, got ' || lower(uuid_t)]
        END AS fault
      FROM h
    )
    SELECT line, fault[1] AS field, fault[2] AS reason,
      event, distinct_id, ts AS timestamp,
      CASE WHEN fault IS NULL THEN
        CASE WHEN json_type(j[6]) = 'OBJECT' OR json_type(j[7]) = 'OBJECT' THEN
          json_merge_patch(coalesce(CASE WHEN props_t = 'OBJECT' THEN j[4] END, '{}'),
            json_object('$set', CASE WHEN json_type(j[6]) = 'OBJECT' THEN j[6] END,
                        '$set_once', CASE WHEN json_type(j[7]) = 'OBJECT' THEN j[7] END))
        ELSE coalesce(CASE WHEN props_t = 'OBJECT' THEN j[4] END, '{}') END
      END AS properties,
      CASE WHEN uuid_t = 'VARCHAR' AND (j[5] ->> '$') <> '' THEN j[5] ->> '$' END AS given_uuid,
      CASE WHEN json_type(j[9]) = 'OBJECT' THEN j[9] END AS groups
    FROM c`),
  );
}

/**
 * Good rows of `_ingest_rows` not already stored → `_ingest_new`, with uuids filled in.
 * Returns how many good records there were and how many are new.
 */
export async function selectNew(engine: Engine): Promise<{ good: number; fresh: number }> {
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _ingest_new AS
    WITH good AS (
      SELECT line, event, distinct_id, timestamp, properties, groups,
        coalesce(given_uuid, (
          SELECT h[1:8] || '-' || h[9:12] || '-' || h[13:16] || '-' || h[17:20] || '-' || h[21:32]
          FROM (SELECT md5(event || chr(31) || distinct_id || chr(31) || strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ')
                           || chr(31) || properties) AS h)
        )) AS uuid
      FROM _ingest_rows WHERE reason IS NULL
    ), first AS (
      SELECT * FROM good QUALIFY row_number() OVER (PARTITION BY uuid ORDER BY line) = 1
    )
    SELECT uuid, event, distinct_id, timestamp, properties, groups,
      groups ->> 'organization' AS organization
    FROM first f WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.uuid = f.uuid)`),
  );
  const [r] = await engine.query<{ good: number; fresh: number }>(
    raw(`SELECT
    (SELECT count(*) FROM _ingest_rows WHERE reason IS NULL)::BIGINT AS good,
    (SELECT count(*) FROM _ingest_new)::BIGINT AS fresh`),
  );
  return r ?? { good: 0, fresh: 0 };
}

/** Bad records, by line. */
export async function rejectedRows(
  engine: Engine,
): Promise<{ line: number; reason: string; field: string | null }[]> {
  return engine.query(
    raw('SELECT line, reason, field FROM _ingest_rows WHERE reason IS NOT NULL ORDER BY line'),
  );
}

/** The stored text of bad records (JSON arrays and Parquet, where there is no physical line). */
export async function rejectedRecordText(engine: Engine): Promise<{ line: number; raw: string | null }[]> {
  return engine.query(
    raw(`SELECT s.line, s.raw FROM _ingest_src s
    JOIN _ingest_rows r USING (line) WHERE r.reason IS NOT NULL ORDER BY s.line`),
  );
}

/** Inserts `_ingest_new` into `events` with each row's resolved person. */
export async function insertNew(engine: Engine, source: string): Promise<void> {
  await engine.exec(sql`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization, groups, source)
    SELECT n.uuid, n.event, n.distinct_id, coalesce(p.person_id, n.distinct_id), n.timestamp, n.properties,
      n.organization, n.groups, ${source}
    FROM _ingest_new n LEFT JOIN person_distinct_ids p ON p.distinct_id = n.distinct_id`);
}

export interface LoadedEventFile {
  records: number;
  inserted: number;
  duplicates: number;
  rejected: { line: number; reason: string; field: string | null }[];
  /** The text of bad records when the format has no physical lines (JSON array, Parquet). */
  rejectedText?: { line: number; raw: string | null }[];
}

/**
 * The whole DuckDB import of one event file: stage, classify, dedupe, then in one transaction
 * resolve identity, insert, rewrite moved persons, refresh persons and groups, log the import.
 */
export async function loadEventFile(
  engine: Engine,
  file: string,
  kind: { format: StagedFormat; gzip: boolean },
  source: string,
  progress: (msg: string) => void = () => undefined,
): Promise<LoadedEventFile> {
  const t0 = performance.now();
  const secs = (): string => ((performance.now() - t0) / 1000).toFixed(1) + 's';
  try {
    const { records } = await stageEventFile(engine, file, kind.format, kind.gzip);
    progress(`${file}: read ${records} records (${secs()})`);
    await classifyStaged(engine);
    const { good, fresh } = await selectNew(engine);
    const rejected = await rejectedRows(engine);
    const rejectedText =
      rejected.length > 0 && (kind.format === 'json-array' || kind.format === 'parquet')
        ? await rejectedRecordText(engine)
        : undefined;
    progress(`${file}: ${good} good, ${rejected.length} bad, ${fresh} new (${secs()})`);
    await engine.exec(raw('DROP TABLE IF EXISTS _ingest_src; DROP TABLE IF EXISTS _ingest_lines'));

    await engine.exec(raw('BEGIN TRANSACTION'));
    try {
      const scope = raw('_ingest_new');
      await resolveIdentity(engine, scope);
      await insertNew(engine, source);
      await updateEventPersons(engine);
      progress(`${file}: stored ${fresh} events; refreshing persons and groups (${secs()})`);
      await refreshPersons(engine, scope);
      await refreshGroups(engine, scope);
      await engine.exec(sql`INSERT INTO imports (source, kind, imported_at, records, inserted, rejected)
        VALUES (${source}, 'events', now(), ${records}, ${fresh}, ${rejected.length})`);
      await engine.exec(raw('COMMIT'));
    } catch (e) {
      await engine.exec(raw('ROLLBACK'));
      throw e;
    }
    progress(`${file}: done (${secs()})`);
    return { records, inserted: fresh, duplicates: good - fresh, rejected, rejectedText };
  } finally {
    await dropStage(engine);
    await dropIdentityTemps(engine);
  }
}

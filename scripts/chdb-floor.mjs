// The chdb floor for issue #19: chdb alone loading an events JSONL(.gz) file into a typed table
// shaped like Sextant's `events` (same partitioning and sort key), in a fresh folder.
// Usage: node scripts/chdb-floor.mjs <dir> <events.jsonl[.gz]>
import { Session } from 'chdb';
import { resolve } from 'node:path';
const [dir, file] = process.argv.slice(2);
const s = new Session(resolve(dir));
const q = (sql) => s.queryAsync(sql, { format: 'CSV' });
await q(`CREATE TABLE t (uuid String, event String, distinct_id String, timestamp DateTime64(6, 'UTC'),
  properties Nullable(String)) ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp)
  ORDER BY (event, toDate(timestamp), distinct_id, timestamp, uuid)`);
const t0 = performance.now();
await q(`INSERT INTO t SELECT * FROM file('${resolve(file)}', JSONEachRow,
  'uuid String, event String, distinct_id String, timestamp DateTime64(6, \\'UTC\\'), properties Nullable(String)')
  SETTINGS date_time_input_format = 'best_effort', input_format_json_read_objects_as_strings = 1`);
const n = (await q('SELECT count() FROM t')).text().trim();
console.log(`${n} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
s.close();

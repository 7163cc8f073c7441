-- The key of an event without a `uuid` (docs/ingest.md, "Identity of a record"): its content,
-- with properties compared in canonical form, and its occurrence among the identical records of
-- its file, so that a file's repeated records are distinct events while a re-import or an
-- overlapping export stores nothing twice. The macros are the rule's only definition: the events
-- importer calls them, and the rewrite below applies them to the events stored before.
--
-- sextant_json_scalar: a JSON scalar as DuckDB writes it (minified; strings with their escapes
-- normalised), numbers by value: an integral double (`1.0`, which `1e0` also becomes) is the
-- integer (`1`), `-0` is `0`.
CREATE OR REPLACE MACRO sextant_json_scalar(x) AS CASE
  WHEN x IS NULL THEN 'null'
  WHEN ends_with(x, '.0') AND NOT starts_with(x, '"') THEN CASE WHEN x = '-0.0' THEN '0' ELSE x[:-3] END
  WHEN x = '-0' THEN '0'
  ELSE x END;
-- sextant_json_hash: a 64-bit hash of a JSON value in which an object's key order does not count
-- (the sum of its members' hashes) and an array's element order does (each element is hashed with
-- its index). Eight levels deep; a deeper value is hashed as its text. One recursive call per
-- level, so the macro grows linearly with the depth.
CREATE OR REPLACE MACRO sextant_json_hash0(x) AS hash(sextant_json_scalar(x));
CREATE OR REPLACE MACRO sextant_json_hash1(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash0(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
CREATE OR REPLACE MACRO sextant_json_hash2(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash1(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
CREATE OR REPLACE MACRO sextant_json_hash3(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash2(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
CREATE OR REPLACE MACRO sextant_json_hash4(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash3(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
CREATE OR REPLACE MACRO sextant_json_hash5(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash4(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
CREATE OR REPLACE MACRO sextant_json_hash6(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash5(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
CREATE OR REPLACE MACRO sextant_json_hash7(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash6(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
CREATE OR REPLACE MACRO sextant_json_hash(x) AS CASE WHEN starts_with(x, '{') OR starts_with(x, '[') THEN hash(left(x, 1), list_sum(list_transform(CASE WHEN starts_with(x, '{') THEN map_entries(x::JSON::MAP(VARCHAR, JSON)) ELSE list_transform(x::JSON::JSON[], lambda v, i: {'key': i::VARCHAR, 'value': v}) END, lambda e: hash(e.key, sextant_json_hash7(e.value::VARCHAR))::HUGEINT))) ELSE sextant_json_hash0(x) END;
-- The content of an event (UTC instant to the microsecond, canonical properties): an md5, as
-- text (a UHUGEINT's text conversion measured 400 µs a value).
CREATE OR REPLACE MACRO sextant_content_key(event, distinct_id, ts, properties) AS md5(
  event || chr(31) || distinct_id || chr(31) || strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') || chr(31) ||
  sextant_json_hash(properties::VARCHAR)::VARCHAR);
-- The key stored as `events.uuid`: the content key with the record's occurrence k (1, 2, …), as
-- an md5 in UUID form.
CREATE OR REPLACE MACRO sextant_derived_uuid(content_key, k) AS
  md5(content_key || chr(31) || k::VARCHAR)::UUID::VARCHAR;

-- Events stored before this rule carry the old key, the md5 of (event, distinct_id, timestamp,
-- properties as text) in UUID form, and that rule merged identical records: each gets the new
-- key with occurrence 1, or 2, 3, … when properties only the new rule calls equal were stored
-- twice. Their identity merges follow.
CREATE TEMP TABLE _rekey AS
  SELECT rowid AS r, uuid AS old_uuid, sextant_content_key(event, distinct_id, timestamp, properties) AS ckey,
    imported_at
  FROM events
  WHERE uuid LIKE '________-____-____-____-____________'
    AND uuid = regexp_replace(md5(event || chr(31) || distinct_id || chr(31) ||
      strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ') || chr(31) || properties::VARCHAR),
      '^(.{8})(.{4})(.{4})(.{4})(.{12})$', '\1-\2-\3-\4-\5');
CREATE TEMP TABLE _rekeyed AS
  SELECT r, old_uuid, sextant_derived_uuid(ckey, row_number() OVER (PARTITION BY ckey ORDER BY imported_at, r)) AS new_uuid
  FROM _rekey;
UPDATE events SET uuid = k.new_uuid FROM _rekeyed k WHERE events.rowid = k.r;
UPDATE identity_merges SET event_uuid = k.new_uuid FROM _rekeyed k WHERE identity_merges.event_uuid = k.old_uuid;
DROP TABLE _rekey;
DROP TABLE _rekeyed;

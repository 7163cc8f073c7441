/**
 * Identity, persons and groups, derived set-based from events the way PostHog does it (SPEC §3.1;
 * the rules and their reasons are in docs/ingest.md):
 *
 * - Merges: `$identify` (`$anon_distinct_id` → the event's distinct_id), `$create_alias` and
 *   `$merge_dangerously` (`alias` → the event's distinct_id) are recorded in `identity_merges`.
 * - An `$identify` merge is refused when its anonymous id was already identified as someone else
 *   (an earlier `$identify` of the same anonymous id into another id) or is itself an identified
 *   id (the target of an earlier `$identify`). Aliases and `$merge_dangerously` always merge.
 * - Components of the accepted merges (label propagation) are persons; a component's person_id
 *   is its earliest identified distinct_id (the merge target with the earliest merge, ties by id).
 *   A distinct_id without merges is its own person.
 * - Persons: `$set` latest per key wins, `$set_once` earliest per key wins (a key with any `$set`
 *   takes the latest `$set`); `created_at` = first event; `is_identified` = any `$identify`.
 * - Groups: every `$groups` entry seen; `$groupidentify` `$group_set` latest per key wins;
 *   `created_at` = first seen.
 *
 * `scope` is a table of newly stored events (uuid, event, distinct_id, timestamp, properties,
 * groups, and for persons `has_set`: see migration 006); only the persons and groups those events
 * touch are recomputed.
 */
import type { Engine } from '../engine.js';
import { eventsWithPersons, sqlEventPerson } from '../events.js';
import { raw, sql, type Sql } from '../sql.js';
import { inTransaction } from '../transaction.js';

/** Whether `select` gives at least one row (it stops at the first). */
export async function hasRows(engine: Engine, select: Sql): Promise<boolean> {
  const [r] = await engine.query<{ n: number }>(sql`SELECT count(*)::INTEGER AS n FROM (${select} LIMIT 1)`);
  return (r?.n ?? 0) > 0;
}

/** JSON scalar → text id: strings as they are, numbers as their JSON text (PostHog does that). */
export function idText(json: string): string {
  return `CASE json_type(${json}) WHEN 'VARCHAR' THEN ${json} ->> '$' WHEN 'BIGINT' THEN ${json}::VARCHAR
    WHEN 'UBIGINT' THEN ${json}::VARCHAR WHEN 'DOUBLE' THEN ${json}::VARCHAR END`;
}

const MAX_ROUNDS = 10_000;

/**
 * `json_group_object(k, v)` with its keys sorted, so a person's or group's properties read the
 * same whatever order the rows were aggregated in (json_group_object is a macro: no ORDER BY).
 */
const OBJECT_BY_KEY = `CAST('{' || string_agg(to_json(k::VARCHAR) || ':' || coalesce(to_json(v)::VARCHAR, 'null'), ',' ORDER BY k) || '}' AS JSON)`;

/**
 * Records new merges, recomputes the distinct_id → person map where they can change it and
 * upserts the changes into `person_distinct_ids`. Leaves `_id_changed(distinct_id, person_id,
 * old_person_id)`. Merges are read from `merges` (default: `scope`), e.g. only the records an
 * import stores when `scope` also holds duplicates that are not stored; a uuid with a merge
 * already keeps it.
 *
 * Only the persons the new merges touch are recomputed (`full`: every person, after merges were
 * removed). The area is every id of a new merge and every id mapped to the person of one; the map
 * outside it cannot change, and the area's persons are found from the merges that touch it:
 * - an edge accepted before joined ids of one person, so it lies inside the area or outside;
 * - whether an edge is accepted depends only on its from_id's other merges (the first
 *   `$identify` of it as anonymous, the first into it), which change only for ids of new merges;
 *   an edge refused before and accepted now has its from_id's first `$identify` changed to a new
 *   merge with the same two ids (both in the area); merges only add, so no `identified_at` moves
 *   later.
 * So an accepted edge with an id in the area has both there, and the edges read are those from an
 * id in the area, judged on the merges that touch it (all of that id's). Holds while
 * `person_distinct_ids` is the map of `identity_merges`, which every call leaves it as. Tested
 * against `full` on random merge histories (ingest-identity.test.ts).
 */
export async function resolveIdentity(
  engine: Engine,
  scope: Sql,
  merges: Sql = scope,
  o: { full?: boolean } = {},
): Promise<void> {
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _id_new AS
    SELECT uuid AS event_uuid, event AS kind, from_id, distinct_id AS into_id, timestamp FROM (
      SELECT uuid, event, distinct_id, timestamp, ${idText('fj')} AS from_id FROM (
        SELECT uuid, event, distinct_id, timestamp,
          CASE WHEN event = '$identify' THEN properties -> '$."$anon_distinct_id"' ELSE properties -> '$.alias' END AS fj
        FROM ${merges.toString()} WHERE event IN ('$identify', '$create_alias', '$merge_dangerously')
      )
    ) n WHERE from_id IS NOT NULL AND from_id <> '' AND from_id <> distinct_id
      AND NOT EXISTS (SELECT 1 FROM identity_merges m WHERE m.event_uuid = n.uuid)
    QUALIFY row_number() OVER (PARTITION BY uuid ORDER BY timestamp) = 1`),
  );
  await engine.exec(
    raw(`INSERT INTO identity_merges (event_uuid, kind, from_id, into_id, timestamp)
    SELECT event_uuid, kind, from_id, into_id, timestamp FROM _id_new ON CONFLICT DO NOTHING`),
  );
  if (!o.full && !(await hasRows(engine, raw('SELECT 1 FROM _id_new')))) {
    // No new merge: the map stands (most batches of a capture server's loader).
    await engine.exec(
      raw(
        `CREATE OR REPLACE TEMP TABLE _id_changed (distinct_id VARCHAR, person_id VARCHAR, old_person_id VARCHAR)`,
      ),
    );
  } else {
    if (!o.full) {
      await engine.exec(
        raw(`CREATE OR REPLACE TEMP TABLE _id_area AS
        WITH n AS (SELECT from_id AS id FROM _id_new UNION SELECT into_id FROM _id_new),
        touched AS (SELECT id FROM n UNION SELECT p.person_id FROM person_distinct_ids p SEMI JOIN n ON p.distinct_id = n.id)
        SELECT id FROM n UNION SELECT p.distinct_id FROM person_distinct_ids p SEMI JOIN touched t ON p.person_id = t.id`),
      );
    }
    const inArea = (column: string): string => (o.full ? 'true' : `${column} IN (SELECT id FROM _id_area)`);
    await engine.exec(
      raw(`CREATE OR REPLACE TEMP TABLE _id_edges AS
      WITH merges AS (
        SELECT * FROM identity_merges ${o.full ? '' : `WHERE ${inArea('from_id')} OR ${inArea('into_id')}`}
      ),
      ident AS (SELECT * FROM merges WHERE kind = '$identify'),
      first_as_anon AS (SELECT from_id, arg_min(into_id, (timestamp, event_uuid)) AS into_id FROM ident GROUP BY from_id),
      identified_at AS (SELECT into_id AS id, min((timestamp, event_uuid)) AS at FROM ident GROUP BY into_id)
      SELECT m.from_id, m.into_id, m.timestamp FROM merges m
      LEFT JOIN first_as_anon f ON f.from_id = m.from_id
      LEFT JOIN identified_at i ON i.id = m.from_id
      WHERE ${inArea('m.from_id')}
        AND (m.kind <> '$identify' OR (f.into_id = m.into_id AND (i.at IS NULL OR i.at > (m.timestamp, m.event_uuid))))`),
    );

    await engine.exec(
      raw(`CREATE OR REPLACE TEMP TABLE _id_links AS
      SELECT from_id AS a, into_id AS b FROM _id_edges UNION SELECT into_id, from_id FROM _id_edges;
      CREATE OR REPLACE TEMP TABLE _id_nodes AS SELECT DISTINCT a AS id, a AS label FROM _id_links`),
    );
    // Label propagation: each id takes the smallest label among its neighbours, and jumps to its
    // label's label, until nothing changes. Rounds grow with a component's diameter, not its size.
    for (let round = 0; ; round++) {
      if (round > MAX_ROUNDS) throw new Error(`identity components did not converge in ${MAX_ROUNDS} rounds`);
      const [spread] = await engine.query<{ Count: number }>(
        raw(`UPDATE _id_nodes SET label = x.label
        FROM (SELECT l.a AS id, min(n.label) AS label FROM _id_links l JOIN _id_nodes n ON n.id = l.b GROUP BY l.a) x
        WHERE _id_nodes.id = x.id AND x.label < _id_nodes.label`),
      );
      const [jumped] = await engine.query<{ Count: number }>(
        raw(`UPDATE _id_nodes SET label = n2.label
        FROM _id_nodes n2 WHERE _id_nodes.label = n2.id AND n2.label < _id_nodes.label`),
      );
      if (!spread?.Count && !jumped?.Count) break;
    }

    await engine.exec(
      raw(`CREATE OR REPLACE TEMP TABLE _id_map AS
      WITH into_first AS (SELECT into_id, min(timestamp) AS t FROM _id_edges GROUP BY into_id),
      root AS (
        SELECT n.label, arg_min(i.into_id, (i.t, i.into_id)) AS person_id
        FROM into_first i JOIN _id_nodes n ON n.id = i.into_id GROUP BY n.label
      )
      SELECT n.id AS distinct_id, r.person_id FROM _id_nodes n JOIN root r USING (label)`),
    );

    // The ids whose person changed: in the map with another person, or mapped to another person
    // before and alone now (in the area: outside it nothing changed).
    await engine.exec(
      raw(`CREATE OR REPLACE TEMP TABLE _id_changed AS
      SELECT m.distinct_id, m.person_id, p.person_id AS old_person_id
      FROM _id_map m LEFT JOIN person_distinct_ids p USING (distinct_id)
      WHERE p.person_id IS DISTINCT FROM m.person_id
      UNION ALL
      SELECT p.distinct_id, p.distinct_id, p.person_id FROM person_distinct_ids p
      WHERE p.person_id <> p.distinct_id AND ${inArea('p.distinct_id')}
        AND NOT EXISTS (SELECT 1 FROM _id_map m WHERE m.distinct_id = p.distinct_id)`),
    );
  }

  await engine.exec(
    raw(`INSERT INTO person_distinct_ids SELECT distinct_id, person_id FROM _id_changed
    ON CONFLICT (distinct_id) DO UPDATE SET person_id = excluded.person_id`),
  );
  await engine.exec(
    // The scope's ids made distinct before the lookup (1M events of ~3,000 ids: 0.04–0.06 CPU-s
    // against 0.10–0.12 for the lookup of every event's id).
    raw(`INSERT INTO person_distinct_ids
    SELECT s.distinct_id, s.distinct_id FROM (SELECT DISTINCT distinct_id FROM ${scope.toString()}) s
    WHERE NOT EXISTS (SELECT 1 FROM person_distinct_ids p WHERE p.distinct_id = s.distinct_id)`),
  );
}

/**
 * Records, in `person_overrides`, the person now of every distinct_id whose events are not all
 * on it: for the ids whose person changed (`_id_changed`) and (when `scope` is given) the scope's
 * ids, e.g. events stored before their ids were mapped. Events themselves are never rewritten
 * (docs/ingest.md, "Identity"): an event's person is its distinct_id's override, else the
 * person_id it was written with (store/events.ts). An id whose override already names its person,
 * or without override whose events were all written with it, gets none. One version per call.
 */
export async function upsertOverrides(engine: Engine, scope?: Sql): Promise<void> {
  // No id changed person (the common import: new events of known or new people): there is
  // nothing to record, and the INSERT below would still scan the stored events for the ids
  // (278 ms of a 60-event import's ~700 ms of database work into a 1M-event store).
  if (!scope && !(await hasRows(engine, raw('SELECT 1 FROM _id_changed')))) return;
  const ids = scope
    ? `SELECT distinct_id FROM _id_changed UNION SELECT distinct_id FROM ${scope.toString()}`
    : 'SELECT distinct_id FROM _id_changed';
  // The ids with an event written on another person are found by a join whose hash table is
  // built on the ids (`moved`), not by a correlated EXISTS: DuckDB decorrelated that into a join
  // that hashed every stored event's (distinct_id, person_id) (10M events: 4.9 s of CPU for 42,215
  // ids, the end of a 10M import).
  await engine.exec(
    raw(`INSERT INTO person_overrides (distinct_id, person_id, version)
    WITH cand AS (SELECT p.distinct_id, p.person_id FROM person_distinct_ids p SEMI JOIN (${ids}) i USING (distinct_id)),
    moved AS (SELECT DISTINCT e.distinct_id FROM events e JOIN cand c ON c.distinct_id = e.distinct_id
      WHERE e.person_id <> c.person_id)
    SELECT c.distinct_id, c.person_id, (SELECT coalesce(max(version), 0) + 1 FROM person_overrides)
    FROM cand c LEFT JOIN person_overrides o ON o.distinct_id = c.distinct_id
    LEFT JOIN moved m ON m.distinct_id = c.distinct_id
    WHERE CASE WHEN o.distinct_id IS NOT NULL THEN o.person_id <> c.person_id ELSE m.distinct_id IS NOT NULL END
    ON CONFLICT (distinct_id) DO UPDATE SET person_id = excluded.person_id, version = excluded.version`),
  );
}

/** Recomputes the persons touched by `scope` or by a changed mapping. */
export async function refreshPersons(engine: Engine, scope: Sql): Promise<void> {
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _id_affected AS
    SELECT p.person_id FROM (SELECT DISTINCT distinct_id FROM ${scope.toString()}) s JOIN person_distinct_ids p USING (distinct_id)
    UNION SELECT person_id FROM _id_changed
    UNION SELECT old_person_id FROM _id_changed WHERE old_person_id IS NOT NULL`),
  );
  // A person not stored before and not grown by a merge has only events of this scope: computed
  // from the scope alone, without scanning `events` (the common case of a first import).
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _id_fresh AS
    SELECT person_id FROM _id_affected
    EXCEPT SELECT person_id FROM persons
    EXCEPT SELECT person_id FROM _id_changed WHERE old_person_id IS NOT NULL`),
  );
  await engine.exec(raw(`DELETE FROM persons WHERE person_id IN (SELECT person_id FROM _id_affected)`));
  // `base` aggregates each distinct_id's events first (written person, first event, any
  // `$identify`) and resolves persons on those few rows: joining every event to its person first
  // hashed every event's id (10M events: 0.54 CPU-s against 0.06 for the aggregate by id).
  const person = sqlEventPerson('_e', '_o').toString();
  const fresh = 'SELECT person_id FROM _id_fresh';
  const stale = `SELECT person_id FROM _id_affected EXCEPT ${fresh}`;
  // Without a stored person to recompute (a first import), the stored events are not read at all:
  // their branches would still scan every event's id (10M events: about 1 s of the refresh).
  const anyStale = await hasRows(engine, raw(stale));
  await engine.exec(
    // ev (sets' rows) is not materialized, or every event's properties are copied (10M events:
    // spilled to disk, 23 s).
    raw(`INSERT INTO persons (person_id, properties, is_identified, created_at)
    WITH ev AS NOT MATERIALIZED (
      ${
        anyStale
          ? `SELECT person_id, timestamp, uuid, event, properties, has_set FROM ${eventsWithPersons().toString()}
      WHERE person_id IN (${stale})
      UNION ALL`
          : ''
      }
      SELECT m.person_id, s.timestamp, s.uuid, s.event, s.properties, s.has_set
      FROM ${scope.toString()} s JOIN person_distinct_ids m USING (distinct_id)
      WHERE m.person_id IN (${fresh})
    ),
    base AS (
      SELECT person_id, min(t) AS created_at, bool_or(ident) AS is_identified FROM (
        ${
          anyStale
            ? `SELECT ${person} AS person_id, _e.t, _e.ident FROM (
          SELECT distinct_id, person_id, min(timestamp) AS t, bool_or(event = '$identify') AS ident
          FROM events GROUP BY distinct_id, person_id
        ) _e LEFT JOIN person_overrides _o ON _o.distinct_id = _e.distinct_id
        WHERE ${person} IN (${stale})
        UNION ALL`
            : ''
        }
        SELECT m.person_id, s.t, s.ident FROM (
          SELECT distinct_id, min(timestamp) AS t, bool_or(event = '$identify') AS ident
          FROM ${scope.toString()} GROUP BY distinct_id
        ) s JOIN person_distinct_ids m USING (distinct_id)
        WHERE m.person_id IN (${fresh})
      ) GROUP BY person_id
    ),
    sets AS (
      SELECT person_id, timestamp, uuid, json_extract(properties, ['$."$set"', '$."$set_once"']) AS j
      FROM ev WHERE has_set OR (has_set IS NULL AND contains(properties, '"$set'))
    ),
    kv AS (
      SELECT person_id, timestamp, uuid, 1 AS kind, unnest(map_entries(CAST(j[1] AS MAP(VARCHAR, JSON)))) AS e
      FROM sets WHERE json_type(j[1]) = 'OBJECT'
      UNION ALL
      SELECT person_id, timestamp, uuid, 2 AS kind, unnest(map_entries(CAST(j[2] AS MAP(VARCHAR, JSON)))) AS e
      FROM sets WHERE json_type(j[2]) = 'OBJECT'
    ),
    per_key AS (
      SELECT person_id, e.key AS k,
        coalesce(arg_max(e.value, (timestamp, uuid)) FILTER (WHERE kind = 1),
                 arg_min(e.value, (timestamp, uuid)) FILTER (WHERE kind = 2)) AS v
      FROM kv GROUP BY person_id, e.key
    ),
    props AS (SELECT person_id, ${OBJECT_BY_KEY} AS properties FROM per_key GROUP BY person_id)
    SELECT b.person_id, coalesce(p.properties, '{}'), b.is_identified, b.created_at
    FROM base b LEFT JOIN props p USING (person_id)`),
  );
}

/** Upserts the groups seen in `scope`; recomputes properties of those with a `$groupidentify` there. */
export async function refreshGroups(engine: Engine, scope: Sql): Promise<void> {
  const s = scope.toString();
  await engine.exec(
    raw(`CREATE OR REPLACE TEMP TABLE _grp_seen AS
    WITH by_groups AS (SELECT groups, min(timestamp) AS t FROM ${s} WHERE groups IS NOT NULL GROUP BY groups),
    entries AS (SELECT unnest(map_entries(CAST(groups AS MAP(VARCHAR, JSON)))) AS e, t FROM by_groups),
    identified AS (
      SELECT properties ->> '$."$group_type"' AS group_type, ${idText(`(properties -> '$."$group_key"')`)} AS group_key,
        timestamp AS t
      FROM ${s} WHERE event = '$groupidentify'
    ),
    seen AS (
      SELECT e.key AS group_type, ${idText('e.value')} AS group_key, t, false AS identified FROM entries
      UNION ALL SELECT group_type, group_key, t, true FROM identified
    )
    SELECT group_type, group_key, min(t) AS first_seen, bool_or(identified) AS identified FROM seen
    WHERE group_type IS NOT NULL AND group_type <> '' AND group_key IS NOT NULL AND group_key <> ''
    GROUP BY group_type, group_key`),
  );
  await engine.exec(
    raw(`INSERT INTO groups (group_type, group_key, properties, created_at)
    WITH gi AS (
      SELECT properties ->> '$."$group_type"' AS group_type, ${idText(`(properties -> '$."$group_key"')`)} AS group_key,
        properties -> '$."$group_set"' AS group_set, timestamp, uuid
      FROM events WHERE event = '$groupidentify'
    ),
    target AS (SELECT gi.* FROM gi SEMI JOIN (SELECT * FROM _grp_seen WHERE identified) g USING (group_type, group_key)),
    kv AS (
      SELECT group_type, group_key, timestamp, uuid, unnest(map_entries(CAST(group_set AS MAP(VARCHAR, JSON)))) AS e
      FROM target WHERE json_type(group_set) = 'OBJECT'
    ),
    per_key AS (
      SELECT group_type, group_key, e.key AS k, arg_max(e.value, (timestamp, uuid)) AS v
      FROM kv GROUP BY group_type, group_key, e.key
    ),
    props AS (SELECT group_type, group_key, ${OBJECT_BY_KEY} AS properties FROM per_key GROUP BY group_type, group_key)
    SELECT g.group_type, g.group_key,
      CASE WHEN g.identified THEN coalesce(p.properties, '{}') END, g.first_seen
    FROM _grp_seen g LEFT JOIN props p USING (group_type, group_key)
    ON CONFLICT (group_type, group_key) DO UPDATE SET
      created_at = least(groups.created_at, excluded.created_at),
      properties = coalesce(excluded.properties, groups.properties)`),
  );
  await engine.exec(raw(`UPDATE groups SET properties = '{}' WHERE properties IS NULL`));
}

export async function dropIdentityTemps(engine: Engine): Promise<void> {
  for (const t of [
    '_id_new',
    '_id_area',
    '_id_edges',
    '_id_links',
    '_id_nodes',
    '_id_map',
    '_id_changed',
    '_id_affected',
    '_id_fresh',
    '_grp_seen',
  ]) {
    await engine.exec(raw(`DROP TABLE IF EXISTS ${t}`));
  }
}

/**
 * Recomputes the whole map once, with overrides and persons for the ids it moves, inside the
 * caller's transaction: for a store whose map may lag its merges, which imports (resolving only
 * where new merges reach) would not notice. Run with migration 028 on a store from before them
 * (migration 008 rewrote merge uuids, the tie-break of two merges at one time, without
 * recomputing) and after `sextant migrate` copies a store into DuckDB (a ClickHouse store whose
 * import was killed during its write-back can hold the merges without the map).
 */
export async function repairIdentityMap(engine: Engine): Promise<void> {
  if (!(await hasRows(engine, raw('SELECT 1 FROM identity_merges')))) return;
  const none = raw(
    `(SELECT uuid, event, distinct_id, timestamp, properties, groups, has_set FROM events WHERE false)`,
  );
  try {
    await resolveIdentity(engine, none, none, { full: true });
    if (await hasRows(engine, raw('SELECT 1 FROM _id_changed'))) {
      await upsertOverrides(engine);
      await refreshPersons(engine, none);
    }
  } finally {
    await dropIdentityTemps(engine);
  }
}

/** `applyIdentity` for DuckDB: the scope is the events imported since `since` (or all). */
export async function applyIdentityDuckDb(engine: Engine, since?: Date): Promise<void> {
  const where = since ? sql`WHERE imported_at >= ${since}` : raw('');
  await engine.exec(sql`CREATE OR REPLACE TEMP TABLE _id_scope AS
    SELECT uuid, event, distinct_id, timestamp, properties, groups, has_set FROM events ${where}`);
  try {
    const scope = raw('_id_scope');
    await inTransaction(engine, async () => {
      // Every person: events stored by another path may come with a map that is not theirs.
      await resolveIdentity(engine, scope, scope, { full: true });
      await upsertOverrides(engine, scope);
      await refreshPersons(engine, scope);
      await refreshGroups(engine, scope);
    });
  } finally {
    await dropIdentityTemps(engine);
    await engine.exec(raw('DROP TABLE IF EXISTS _id_scope'));
  }
}

/**
 * The one way every analysis reads events: `eventsWithPersons()`, the `events` table with each
 * event's person resolved through `person_overrides` at query time (PostHog's model,
 * docs/ingest.md "Identity"). Events keep the `person_id` they were written with (the person of
 * their distinct_id when they were stored); an identity merge that arrives later records the
 * distinct_id's new person in `person_overrides` (a small table, keyed by distinct_id, versioned)
 * instead of rewriting events — a mutation ClickHouse cannot afford on billions of rows. So an
 * event's person is `coalesce(override of its distinct_id, person_id written)`.
 *
 * Why keyed by distinct_id and not by the old person id: merges are decided by event time, not
 * arrival, so a late `$identify` can take an anonymous id away from the person it was merged into
 * (PostHog's rule: an anonymous id is identified once, by its earliest `$identify`). The events
 * written with that old person then belong to two people; only their distinct_id tells which.
 * PostHog's own `person_distinct_id_overrides` is keyed the same way.
 *
 * The same SQL on both engines: ClickHouse reads `person_overrides` (a ReplacingMergeTree) with
 * `final = 1`, so one row per distinct_id, the latest version; `join_use_nulls` makes a missing
 * override NULL. Filters on the outer query (event, timestamp) reach the `events` scan through
 * the LEFT JOIN on both engines.
 */
import { raw, type Sql } from './sql.js';

/** The columns of `events`, in table order (a new column must be added here to be readable). */
export const EVENT_COLUMNS = [
  'uuid',
  'event',
  'distinct_id',
  'person_id',
  'timestamp',
  'properties',
  'organization',
  'groups',
  'source',
  'imported_at',
  'has_set',
] as const;

/** What `person_id` of an event resolves to, for a query that joins `person_overrides` itself. */
export function sqlEventPerson(events: string, overrides: string): Sql {
  return raw(`coalesce(${overrides}.person_id, ${events}.person_id)`);
}

/**
 * `(SELECT … FROM events LEFT JOIN person_overrides …) AS <alias>`: every column of `events`, with
 * `person_id` the person now. Use it wherever `events` is read: `FROM ${eventsWithPersons('e')}`.
 */
export function eventsWithPersons(alias = 'events'): Sql {
  const cols = EVENT_COLUMNS.map((c) =>
    c === 'person_id' ? `${sqlEventPerson('_e', '_o').toString()} AS person_id` : `_e.${c} AS ${c}`,
  ).join(', ');
  return raw(
    `(SELECT ${cols} FROM events _e LEFT JOIN person_overrides _o ON _o.distinct_id = _e.distinct_id) AS ${alias}`,
  );
}

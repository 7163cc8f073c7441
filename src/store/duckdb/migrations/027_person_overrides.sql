-- Identity overrides (PostHog's model, docs/ingest.md "Identity"): events keep the person_id they
-- were written with; when a later merge moves a distinct_id to another person, its new person is
-- recorded here instead of rewriting events. Every analysis reads an event's person as
-- coalesce(override, events.person_id) through store/events.ts. `version` grows with each write
-- (the ClickHouse twin keeps the latest per distinct_id). Stores from before this migration had
-- their events rewritten, so they start with no overrides: the same persons.
CREATE TABLE IF NOT EXISTS person_overrides (
  distinct_id VARCHAR NOT NULL PRIMARY KEY,
  person_id VARCHAR NOT NULL,
  version BIGINT NOT NULL
);

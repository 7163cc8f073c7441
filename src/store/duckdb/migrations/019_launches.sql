-- Launches added with `sextant launch add` (docs/analyses.md#launches); those in the config's
-- `launches:` are not stored. `metrics` is the JSON list of metric specs ({event, type, property?});
-- `day` is the UTC day it shipped, YYYY-MM-DD.
CREATE SEQUENCE IF NOT EXISTS launch_ids START 1;
CREATE TABLE IF NOT EXISTS launches (
  id BIGINT NOT NULL PRIMARY KEY DEFAULT nextval('launch_ids'),
  product VARCHAR NOT NULL,
  day VARCHAR NOT NULL,
  title VARCHAR NOT NULL,
  flag VARCHAR,
  metrics JSON NOT NULL,
  unit VARCHAR NOT NULL,
  control VARCHAR,
  window_days INTEGER NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);

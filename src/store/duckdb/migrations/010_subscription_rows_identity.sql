-- The generic subscription CSV's identity (docs/ingest.md, "Subscription CSV"): a row is no longer
-- keyed on (customer, plan, product, start), which merged two subscriptions of one customer on
-- the same plan and day. Its key `row_key` is `id:<id>` when the file has an `id` column, else
-- `row:<md5 of [customer_id, plan, product, start in µs]>:<occurrence>`, the occurrence being the
-- row's rank among the file's rows with those four values (1 for every row stored so far, which
-- the old key made unique). The same expression is `ROW_KEY` in src/ingest/subscriptions/import.ts.
-- A primary key cannot be dropped in place, so the table is rebuilt.
CREATE TABLE billing_subscription_rows_010 (
  customer_id VARCHAR NOT NULL,
  organization VARCHAR,
  plan VARCHAR,
  product VARCHAR,
  currency VARCHAR NOT NULL,
  amount BIGINT NOT NULL,
  interval VARCHAR NOT NULL,
  interval_count INTEGER NOT NULL,
  quantity BIGINT NOT NULL,
  start_at TIMESTAMPTZ NOT NULL,
  end_at TIMESTAMPTZ,
  status VARCHAR,
  source VARCHAR,
  id VARCHAR,                      -- the file's `id` column, when it has one
  occurrence INTEGER,              -- without an id: rank among the file's rows of equal identity
  row_key VARCHAR NOT NULL PRIMARY KEY
);
INSERT INTO billing_subscription_rows_010
SELECT customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity,
  start_at, end_at, status, source, NULL, 1,
  'row:' || md5(to_json([customer_id, coalesce(plan, ''), coalesce(product, ''), epoch_us(start_at)::VARCHAR])::VARCHAR) || ':1'
FROM billing_subscription_rows;
DROP TABLE billing_subscription_rows;
ALTER TABLE billing_subscription_rows_010 RENAME TO billing_subscription_rows;

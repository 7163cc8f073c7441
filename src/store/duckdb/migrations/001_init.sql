-- Sextant store, version 1. Timestamps are UTC. Money is integer minor units of its currency.
-- JSON columns hold objects exactly as imported (properties, metadata, raw Stripe objects).

-- Product events (SPEC §3.1). `uuid` is the event's own or, when absent, a hash of
-- (event, distinct_id, timestamp, properties) so re-imports dedupe. `person_id` is the resolved
-- person (see person_distinct_ids), rewritten set-based when a later merge changes it.
-- No primary key: an ART index over tens of millions of uuids costs more than the anti-join the
-- importer uses to dedupe (see ingest/posthog).
CREATE TABLE IF NOT EXISTS events (
  uuid VARCHAR NOT NULL,
  event VARCHAR NOT NULL,
  distinct_id VARCHAR NOT NULL,
  person_id VARCHAR NOT NULL,
  timestamp TIMESTAMPTZ NOT NULL,
  properties JSON,
  organization VARCHAR,            -- properties.$groups.organization
  groups JSON,                     -- properties.$groups, all group types
  source VARCHAR,                  -- the file or endpoint it came from
  imported_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Identity: every distinct_id ever seen and the person it resolves to now.
CREATE TABLE IF NOT EXISTS person_distinct_ids (
  distinct_id VARCHAR NOT NULL PRIMARY KEY,
  person_id VARCHAR NOT NULL
);

-- Merges as they arrived: `$identify` with `$anon_distinct_id`, `$create_alias`, `$merge_dangerously`.
-- `from_id` is merged into the person of `into_id` at `timestamp`.
CREATE TABLE IF NOT EXISTS identity_merges (
  event_uuid VARCHAR NOT NULL PRIMARY KEY,
  kind VARCHAR NOT NULL,
  from_id VARCHAR NOT NULL,
  into_id VARCHAR NOT NULL,
  timestamp TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS persons (
  person_id VARCHAR NOT NULL PRIMARY KEY,
  properties JSON,                 -- $set latest wins, $set_once first wins
  is_identified BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ NOT NULL   -- first event of any of its distinct_ids
);

-- Groups (organizations and other group types) with their properties, latest $group_set per key wins.
CREATE TABLE IF NOT EXISTS groups (
  group_type VARCHAR NOT NULL,
  group_key VARCHAR NOT NULL,
  properties JSON,
  created_at TIMESTAMPTZ,
  PRIMARY KEY (group_type, group_key)
);

-- Billing (SPEC §3.2). Raw objects are kept so a later rule change can recompute everything.
CREATE TABLE IF NOT EXISTS billing_customers (
  id VARCHAR NOT NULL PRIMARY KEY,
  email VARCHAR,
  name VARCHAR,
  currency VARCHAR,
  metadata JSON,
  organization VARCHAR,            -- linked group key (billing.link, else email_domain)
  created TIMESTAMPTZ,
  deleted BOOLEAN NOT NULL DEFAULT false,
  source VARCHAR,
  raw JSON
);

CREATE TABLE IF NOT EXISTS billing_products (
  id VARCHAR NOT NULL PRIMARY KEY,
  name VARCHAR,
  raw JSON
);

CREATE TABLE IF NOT EXISTS billing_prices (
  id VARCHAR NOT NULL PRIMARY KEY,
  product VARCHAR,
  nickname VARCHAR,
  currency VARCHAR,
  unit_amount BIGINT,
  interval VARCHAR,                -- day|week|month|year, null for one-time prices
  interval_count INTEGER,
  usage_type VARCHAR,              -- licensed|metered
  raw JSON
);

CREATE TABLE IF NOT EXISTS billing_coupons (
  id VARCHAR NOT NULL PRIMARY KEY,
  percent_off DOUBLE,
  amount_off BIGINT,
  currency VARCHAR,
  duration VARCHAR,                -- once|repeating|forever
  duration_in_months INTEGER,
  raw JSON
);

CREATE TABLE IF NOT EXISTS billing_subscriptions (
  id VARCHAR NOT NULL PRIMARY KEY,
  customer_id VARCHAR NOT NULL,
  status VARCHAR,
  created TIMESTAMPTZ,
  start_date TIMESTAMPTZ,
  trial_start TIMESTAMPTZ,
  trial_end TIMESTAMPTZ,
  cancel_at_period_end BOOLEAN,
  canceled_at TIMESTAMPTZ,
  ended_at TIMESTAMPTZ,
  currency VARCHAR,
  items JSON,                      -- [{price, product, quantity, interval, interval_count, unit_amount}]
  discount JSON,
  metadata JSON,
  source VARCHAR,
  raw JSON
);

CREATE TABLE IF NOT EXISTS billing_invoices (
  id VARCHAR NOT NULL PRIMARY KEY,
  customer_id VARCHAR,
  subscription_id VARCHAR,
  status VARCHAR,                  -- draft|open|paid|uncollectible|void
  currency VARCHAR,
  created TIMESTAMPTZ,
  period_start TIMESTAMPTZ,
  period_end TIMESTAMPTZ,
  paid_at TIMESTAMPTZ,
  subtotal BIGINT,
  tax BIGINT,
  total BIGINT,
  amount_paid BIGINT,
  billing_reason VARCHAR,
  source VARCHAR,
  raw JSON
);

-- One row per invoice line, both Stripe line shapes normalized (SPEC §3.2).
CREATE TABLE IF NOT EXISTS billing_invoice_lines (
  id VARCHAR NOT NULL,
  invoice_id VARCHAR NOT NULL,
  customer_id VARCHAR,
  subscription_id VARCHAR,
  subscription_item_id VARCHAR,
  product VARCHAR,                 -- Stripe product id of the price
  price_id VARCHAR,
  plan VARCHAR,                    -- price nickname, else product name, else price id
  currency VARCHAR,
  amount BIGINT NOT NULL,          -- minor units, before discounts, excluding tax
  discount_amount BIGINT NOT NULL DEFAULT 0,
  tax_amount BIGINT NOT NULL DEFAULT 0,
  period_start TIMESTAMPTZ,
  period_end TIMESTAMPTZ,
  interval VARCHAR,                -- day|week|month|year; null: one-time
  interval_count INTEGER,
  quantity BIGINT,
  proration BOOLEAN NOT NULL DEFAULT false,
  usage_type VARCHAR,              -- licensed|metered
  line_type VARCHAR,               -- subscription|invoiceitem
  invoice_status VARCHAR,
  description VARCHAR,
  source VARCHAR,
  PRIMARY KEY (invoice_id, id)
);

CREATE TABLE IF NOT EXISTS billing_credit_notes (
  id VARCHAR NOT NULL PRIMARY KEY,
  invoice_id VARCHAR,
  customer_id VARCHAR,
  currency VARCHAR,
  amount BIGINT,
  created TIMESTAMPTZ,
  reason VARCHAR,
  raw JSON
);

-- Stripe `event` objects (customer.subscription.*, invoice.*), used to fill gaps in invoice history.
CREATE TABLE IF NOT EXISTS billing_events (
  id VARCHAR NOT NULL PRIMARY KEY,
  type VARCHAR NOT NULL,
  created TIMESTAMPTZ NOT NULL,
  object_id VARCHAR,
  object JSON,
  previous_attributes JSON,
  source VARCHAR
);

-- The generic subscription CSV (SPEC §3.2): a full alternative source of revenue history.
CREATE TABLE IF NOT EXISTS billing_subscription_rows (
  customer_id VARCHAR NOT NULL,
  organization VARCHAR,
  plan VARCHAR,
  product VARCHAR,
  currency VARCHAR NOT NULL,
  amount BIGINT NOT NULL,          -- minor units per interval
  interval VARCHAR NOT NULL,
  interval_count INTEGER NOT NULL,
  quantity BIGINT NOT NULL,
  start_at TIMESTAMPTZ NOT NULL,
  end_at TIMESTAMPTZ,
  status VARCHAR,
  source VARCHAR,
  PRIMARY KEY (customer_id, plan, product, start_at)
);

-- Feedback (SPEC §3.3).
CREATE TABLE IF NOT EXISTS feedback (
  id VARCHAR NOT NULL PRIMARY KEY,
  kind VARCHAR NOT NULL,           -- nps|ticket|interview|request|cancellation
  created_at TIMESTAMPTZ NOT NULL,
  distinct_id VARCHAR,
  email VARCHAR,
  organization VARCHAR,
  score DOUBLE,
  title VARCHAR,
  body VARCHAR,
  tags VARCHAR[],
  status VARCHAR,
  source VARCHAR
);

-- The decision loop (SPEC §2 decide/todo, §5 previous).
CREATE TABLE IF NOT EXISTS reviews (
  product VARCHAR NOT NULL,
  month VARCHAR NOT NULL,
  generated_at TIMESTAMPTZ NOT NULL,
  review JSON NOT NULL,
  PRIMARY KEY (product, month)
);

CREATE TABLE IF NOT EXISTS decisions (
  product VARCHAR NOT NULL,
  month VARCHAR NOT NULL,
  outcome VARCHAR NOT NULL,        -- continue|reprioritize|change-goals|new-projects
  note VARCHAR,
  metric_ids VARCHAR[],
  decided_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (product, month)
);

CREATE SEQUENCE IF NOT EXISTS todo_ids START 1;
CREATE TABLE IF NOT EXISTS todos (
  id BIGINT NOT NULL PRIMARY KEY DEFAULT nextval('todo_ids'),
  product VARCHAR NOT NULL,
  month VARCHAR NOT NULL,
  title VARCHAR NOT NULL,
  owner VARCHAR,
  metric_ids VARCHAR[],
  created_at TIMESTAMPTZ NOT NULL,
  done_at TIMESTAMPTZ
);

-- What was imported, for `dataCoverage` and idempotence reports.
CREATE TABLE IF NOT EXISTS imports (
  source VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  imported_at TIMESTAMPTZ NOT NULL,
  records BIGINT NOT NULL,
  inserted BIGINT NOT NULL,
  rejected BIGINT NOT NULL
);

-- Subscription states over time, one row per (Stripe event, subscription item), normalized at import
-- from `customer.subscription.*` events (and subscription objects themselves, as of their import).
-- The revenue engine uses them only where invoice lines are missing for a subscription.
CREATE TABLE IF NOT EXISTS billing_subscription_states (
  state_id VARCHAR NOT NULL,       -- the event id, or `sub:<id>` for a subscription object
  subscription_id VARCHAR NOT NULL,
  customer_id VARCHAR,
  valid_from TIMESTAMPTZ NOT NULL, -- when this state starts
  status VARCHAR,
  currency VARCHAR,
  item_id VARCHAR NOT NULL,
  price_id VARCHAR,
  product VARCHAR,
  quantity BIGINT,
  unit_amount BIGINT,
  interval VARCHAR,
  interval_count INTEGER,
  usage_type VARCHAR,
  percent_off DOUBLE,
  amount_off BIGINT,
  discount_end TIMESTAMPTZ,
  cancel_at_period_end BOOLEAN,
  current_period_end TIMESTAMPTZ,
  canceled_at TIMESTAMPTZ,
  ended_at TIMESTAMPTZ,
  source VARCHAR,
  PRIMARY KEY (state_id, item_id)
);

-- Subscription items (Stripe `subscription.items`): the current line shape often carries no price,
-- only `parent.subscription_item_details.subscription_item`; its price comes from here.
CREATE TABLE IF NOT EXISTS billing_subscription_items (
  id VARCHAR NOT NULL PRIMARY KEY,
  subscription_id VARCHAR NOT NULL,
  price_id VARCHAR,
  quantity BIGINT,
  source VARCHAR
);

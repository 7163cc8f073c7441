-- Stripe objects are applied in the order of their state's time (docs/ingest.md, "Stripe"):
-- `version` is the `created` of the event that carried the stored state, or the time of the
-- import that read the object from an export file. A state older than the stored one never
-- replaces it. Nullable without a default (an ALTER with a default is what DuckDB failed to
-- replay from a WAL after a kill); rows stored before are dated here.
ALTER TABLE billing_customers ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_products ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_prices ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_coupons ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_subscriptions ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_subscription_items ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_invoices ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_invoice_lines ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
ALTER TABLE billing_credit_notes ADD COLUMN IF NOT EXISTS version TIMESTAMPTZ;
UPDATE billing_customers SET version = now() WHERE version IS NULL;
UPDATE billing_products SET version = now() WHERE version IS NULL;
UPDATE billing_prices SET version = now() WHERE version IS NULL;
UPDATE billing_coupons SET version = now() WHERE version IS NULL;
UPDATE billing_subscriptions SET version = now() WHERE version IS NULL;
UPDATE billing_subscription_items SET version = now() WHERE version IS NULL;
UPDATE billing_credit_notes SET version = now() WHERE version IS NULL;
-- An invoice carried by an event (source `event:<id>`) is as of that event.
UPDATE billing_invoices SET version = coalesce(
    (SELECT e.created FROM billing_events e WHERE 'event:' || e.id = billing_invoices.source), now())
  WHERE version IS NULL;
UPDATE billing_invoice_lines SET version = coalesce(
    (SELECT i.version FROM billing_invoices i WHERE i.id = billing_invoice_lines.invoice_id), now())
  WHERE version IS NULL;

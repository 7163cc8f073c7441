-- Feedback (SPEC §3.3) may carry an optional `closed_at` for tickets, so "tickets open at month end"
-- can be computed for past months, not only from the current `status`.
ALTER TABLE feedback ADD COLUMN IF NOT EXISTS closed_at TIMESTAMPTZ;

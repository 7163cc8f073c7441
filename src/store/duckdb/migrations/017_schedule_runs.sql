-- The server's monthly schedule (docs/http.md#the-monthly-schedule): one row per review it built
-- (or tried to) and one per summary it sent, so a restart neither builds nor posts twice.
-- `built_at` null: started and not finished (killed, or failed with `error`): retried.
CREATE TABLE IF NOT EXISTS schedule_runs (
  month VARCHAR NOT NULL,
  product VARCHAR NOT NULL,
  due_at TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  attempts INTEGER NOT NULL,
  built_at TIMESTAMPTZ,
  error VARCHAR,
  PRIMARY KEY (month, product)
);
-- `channel`: slack or email. `sent_at` null: not sent yet (the last `error` says why).
CREATE TABLE IF NOT EXISTS schedule_notifications (
  month VARCHAR NOT NULL,
  channel VARCHAR NOT NULL,
  attempts INTEGER NOT NULL,
  sent_at TIMESTAMPTZ,
  error VARCHAR,
  PRIMARY KEY (month, channel)
);

-- Several daemons on one database: outbox rows are claimed with a lease, each
-- part or file of a message is its own delivery step, and a message past its
-- attempts is dead (not retried in ten years). Named leases (the bot).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;
ALTER TABLE outbox ADD COLUMN steps_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN dead_at BIGINT;
CREATE INDEX outbox_dead ON outbox (dead_at);

CREATE TABLE leases (
    name      TEXT PRIMARY KEY,
    holder    TEXT NOT NULL,
    until_at  BIGINT NOT NULL
);

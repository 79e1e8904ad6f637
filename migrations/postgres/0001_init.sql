-- xunjian schema, PostgreSQL dialect. Keep in lockstep with migrations/sqlite.
-- Times are integer seconds since the Unix epoch (UTC); dates are 'YYYY-MM-DD'.

CREATE TABLE units (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    position    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE contacts (
    unit_id     TEXT NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    name        TEXT NOT NULL,
    telegram_id BIGINT,
    phone       TEXT,
    PRIMARY KEY (unit_id, position)
);

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    unit_id         TEXT NOT NULL REFERENCES units(id),
    name            TEXT NOT NULL,
    platform        TEXT NOT NULL,
    proxy           TEXT,
    route           TEXT,
    feed            TEXT,
    state           TEXT NOT NULL,
    deregistered_on TEXT,
    filing_ref      TEXT,
    is_interactive  BOOLEAN NOT NULL,
    thresholds      TEXT NOT NULL,
    position        BIGINT NOT NULL,
    registered_at   BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE register_events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX register_events_entity ON register_events (entity, entity_id);

-- Posts outlive register changes (reports for past periods), so no FK.
CREATE TABLE posts (
    id                BIGSERIAL PRIMARY KEY,
    account_id        TEXT NOT NULL,
    dedup_key         TEXT NOT NULL,
    published_at      BIGINT NOT NULL,
    first_seen_at     BIGINT NOT NULL,
    is_date_estimated BOOLEAN NOT NULL,
    title             TEXT,
    link              TEXT,
    author            TEXT,
    kind              TEXT NOT NULL,
    evidence          TEXT,
    UNIQUE (account_id, dedup_key)
);
CREATE INDEX posts_account_published ON posts (account_id, published_at);

CREATE TABLE fetch_state (
    account_id           TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    next_check_at        BIGINT NOT NULL,
    last_checked_at      BIGINT,
    last_success_at      BIGINT,
    first_success_at     BIGINT,
    outcome              TEXT,
    message              TEXT,
    http_status          BIGINT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    gone_streak          BIGINT NOT NULL DEFAULT 0,
    gone_since           BIGINT,
    etag                 TEXT,
    last_modified        TEXT,
    feed_title           TEXT
);
CREATE INDEX fetch_state_due ON fetch_state (next_check_at);

CREATE TABLE proxy_state (
    name        TEXT PRIMARY KEY,
    is_up       BOOLEAN NOT NULL,
    checked_at  BIGINT NOT NULL,
    down_since  BIGINT,
    message     TEXT
);

-- One row per inspection (巡检); results keep unit/platform/state as they were.
CREATE TABLE inspections (
    id          BIGSERIAL PRIMARY KEY,
    checked_at  BIGINT NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX inspections_checked_at ON inspections (checked_at);

CREATE TABLE inspection_results (
    inspection_id BIGINT NOT NULL REFERENCES inspections(id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL,
    unit_id       TEXT NOT NULL,
    platform      TEXT NOT NULL,
    state         TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    last_post_at  BIGINT,
    findings      TEXT NOT NULL,
    PRIMARY KEY (inspection_id, account_id)
);

-- One alert per (subject, family): subject is an account id, "proxy:NAME",
-- "unit:ID" or "calendar"; family is the rule id, or "stale" for the ladder.
CREATE TABLE alerts (
    id               BIGSERIAL PRIMARY KEY,
    subject          TEXT NOT NULL,
    family           TEXT NOT NULL,
    rule             TEXT NOT NULL,
    severity         TEXT NOT NULL,
    unit_id          TEXT,
    status           TEXT NOT NULL,
    message          TEXT NOT NULL,
    evidence         TEXT NOT NULL,
    opened_at        BIGINT NOT NULL,
    last_notified_at BIGINT,
    resolved_at      BIGINT,
    acked_by         TEXT,
    acked_at         BIGINT
);
CREATE INDEX alerts_open ON alerts (status, subject, family);

-- Snoozes (/snooze): no messages about the subject until then.
CREATE TABLE silences (
    subject     TEXT PRIMARY KEY,
    until_at    BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Decided messages, written in the same transaction as the alert state.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    body            TEXT NOT NULL,
    mentions        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);

-- A channel that failed permanently, or whose chat moved.
CREATE TABLE channel_state (
    channel       TEXT PRIMARY KEY,
    is_broken     BOOLEAN NOT NULL,
    reason        TEXT,
    chat_override TEXT,
    updated_at    BIGINT NOT NULL
);

-- /bind requests: a user asks to become a unit's contact.
CREATE TABLE bind_requests (
    id           BIGSERIAL PRIMARY KEY,
    telegram_id  BIGINT NOT NULL,
    name         TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT
);

CREATE TABLE job_runs (
    job          TEXT NOT NULL,
    due_at       BIGINT NOT NULL,
    owner        TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (job, due_at)
);

-- Small facts about this database (e.g. the hash of the last imported register file).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Files sent with an outbox message (report spreadsheets and charts).
CREATE TABLE outbox_files (
    outbox_id  BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    data       BYTEA NOT NULL,
    PRIMARY KEY (outbox_id, position)
);

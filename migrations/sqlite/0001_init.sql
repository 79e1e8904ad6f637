-- xunjian schema, SQLite dialect. Keep in lockstep with migrations/postgres.
-- Times are integer seconds since the Unix epoch (UTC); dates are 'YYYY-MM-DD'.

CREATE TABLE units (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE contacts (
    unit_id     TEXT NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    telegram_id INTEGER,
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
    position        INTEGER NOT NULL,
    registered_at   INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE register_events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
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
    id                INTEGER PRIMARY KEY,
    account_id        TEXT NOT NULL,
    dedup_key         TEXT NOT NULL,
    published_at      INTEGER NOT NULL,
    first_seen_at     INTEGER NOT NULL,
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
    next_check_at        INTEGER NOT NULL,
    last_checked_at      INTEGER,
    last_success_at      INTEGER,
    first_success_at     INTEGER,
    outcome              TEXT,
    message              TEXT,
    http_status          INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    gone_streak          INTEGER NOT NULL DEFAULT 0,
    gone_since           INTEGER,
    etag                 TEXT,
    last_modified        TEXT,
    feed_title           TEXT
);
CREATE INDEX fetch_state_due ON fetch_state (next_check_at);

CREATE TABLE proxy_state (
    name        TEXT PRIMARY KEY,
    is_up       BOOLEAN NOT NULL,
    checked_at  INTEGER NOT NULL,
    down_since  INTEGER,
    message     TEXT
);

-- One row per inspection (巡检); results keep unit/platform/state as they were.
CREATE TABLE inspections (
    id          INTEGER PRIMARY KEY,
    checked_at  INTEGER NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX inspections_checked_at ON inspections (checked_at);

CREATE TABLE inspection_results (
    inspection_id INTEGER NOT NULL REFERENCES inspections(id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL,
    unit_id       TEXT NOT NULL,
    platform      TEXT NOT NULL,
    state         TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    last_post_at  INTEGER,
    findings      TEXT NOT NULL,
    PRIMARY KEY (inspection_id, account_id)
);

-- One alert per (subject, family): subject is an account id, "proxy:NAME",
-- "unit:ID" or "calendar"; family is the rule id, or "stale" for the ladder.
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    subject          TEXT NOT NULL,
    family           TEXT NOT NULL,
    rule             TEXT NOT NULL,
    severity         TEXT NOT NULL,
    unit_id          TEXT,
    status           TEXT NOT NULL,
    message          TEXT NOT NULL,
    evidence         TEXT NOT NULL,
    opened_at        INTEGER NOT NULL,
    last_notified_at INTEGER,
    resolved_at      INTEGER,
    acked_by         TEXT,
    acked_at         INTEGER
);
CREATE INDEX alerts_open ON alerts (status, subject, family);

-- Snoozes (/snooze): no messages about the subject until then.
CREATE TABLE silences (
    subject     TEXT PRIMARY KEY,
    until_at    INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Decided messages, written in the same transaction as the alert state.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    body            TEXT NOT NULL,
    mentions        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);

-- A channel that failed permanently, or whose chat moved.
CREATE TABLE channel_state (
    channel       TEXT PRIMARY KEY,
    is_broken     BOOLEAN NOT NULL,
    reason        TEXT,
    chat_override TEXT,
    updated_at    INTEGER NOT NULL
);

-- /bind requests: a user asks to become a unit's contact.
CREATE TABLE bind_requests (
    id           INTEGER PRIMARY KEY,
    telegram_id  INTEGER NOT NULL,
    name         TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    decided_by   TEXT,
    decided_at   INTEGER
);

CREATE TABLE job_runs (
    job          TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    owner        TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    PRIMARY KEY (job, due_at)
);

-- Small facts about this database (e.g. the hash of the last imported register file).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Files sent with an outbox message (report spreadsheets and charts).
CREATE TABLE outbox_files (
    outbox_id  INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (outbox_id, position)
);

-- The 整改 loop: each problem of an issued 通报 becomes an item with a
-- deadline; a unit's answer, the inspections' verification and the deadline
-- move it along; every step is kept.
CREATE TABLE rectification_items (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    report_key    TEXT NOT NULL,
    report_title  TEXT NOT NULL,
    report_to     TEXT NOT NULL,
    issued_at     INTEGER NOT NULL,
    unit_id       TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    rules         TEXT NOT NULL,
    label         TEXT NOT NULL,
    message       TEXT NOT NULL,
    deadline      TEXT NOT NULL,
    state         TEXT NOT NULL,
    response      TEXT,
    responded_by  TEXT,
    responded_at  INTEGER,
    fixed_at      INTEGER,
    evidence      TEXT,
    overdue_at    INTEGER,
    UNIQUE (report_key, account_id)
);
CREATE INDEX rectification_items_state ON rectification_items (state);
CREATE INDEX rectification_items_account ON rectification_items (account_id);

CREATE TABLE rectification_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX rectification_events_item ON rectification_events (item_id);

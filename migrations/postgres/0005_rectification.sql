-- The 整改 loop: each problem of an issued 通报 becomes an item with a
-- deadline; a unit's answer, the inspections' verification and the deadline
-- move it along; every step is kept.
CREATE TABLE rectification_items (
    id            BIGSERIAL PRIMARY KEY,
    report_key    TEXT NOT NULL,
    report_title  TEXT NOT NULL,
    report_to     TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    unit_id       TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    rules         TEXT NOT NULL,
    label         TEXT NOT NULL,
    message       TEXT NOT NULL,
    deadline      TEXT NOT NULL,
    state         TEXT NOT NULL,
    response      TEXT,
    responded_by  TEXT,
    responded_at  BIGINT,
    fixed_at      BIGINT,
    evidence      TEXT,
    overdue_at    BIGINT,
    UNIQUE (report_key, account_id)
);
CREATE INDEX rectification_items_state ON rectification_items (state);
CREATE INDEX rectification_items_account ON rectification_items (account_id);

CREATE TABLE rectification_events (
    id        BIGSERIAL PRIMARY KEY,
    item_id   BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX rectification_events_item ON rectification_events (item_id);

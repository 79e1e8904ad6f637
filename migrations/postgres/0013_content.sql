-- Content inspection: each post's plain text, deflated (kept
-- `content.retention_days`, then set to NULL), whether it is a 停更公告, the findings (kept for good),
-- the allow list taught by 误报, and the 转载任务 with the posts that did them.
ALTER TABLE posts ADD COLUMN text_z BYTEA;
ALTER TABLE posts ADD COLUMN is_notice BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX posts_notice ON posts (account_id, published_at) WHERE is_notice;

-- When the account entered its present state (拟关停 since when).
ALTER TABLE accounts ADD COLUMN state_since BIGINT;
UPDATE accounts SET state_since = updated_at;

CREATE TABLE content_findings (
    id                BIGSERIAL PRIMARY KEY,
    account_id        TEXT NOT NULL,
    post_id           BIGINT NOT NULL,
    dedup_key         TEXT NOT NULL,
    rule              TEXT NOT NULL,
    level             TEXT NOT NULL,
    category          TEXT NOT NULL,
    matched           TEXT NOT NULL,
    suggestion        TEXT NOT NULL,
    context           TEXT NOT NULL,
    match_key         TEXT NOT NULL,
    is_in_title       BOOLEAN NOT NULL,
    published_at      BIGINT NOT NULL,
    post_title        TEXT,
    post_link         TEXT,
    found_at          BIGINT NOT NULL,
    state             TEXT NOT NULL,
    closed_at         BIGINT,
    closed_by         TEXT,
    reason            TEXT,
    UNIQUE (post_id, rule, match_key)
);
CREATE INDEX content_findings_state ON content_findings (state, account_id);
CREATE INDEX content_findings_published ON content_findings (published_at);

-- account_id '' allows the phrase for every account.
CREATE TABLE content_allow (
    account_id  TEXT NOT NULL,
    phrase      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, phrase)
);

CREATE TABLE repost_tasks (
    id          BIGSERIAL PRIMARY KEY,
    title       TEXT NOT NULL,
    matches     TEXT NOT NULL,
    url         TEXT,
    starts_at   BIGINT NOT NULL,
    due_on      TEXT NOT NULL,
    units       TEXT NOT NULL,
    platforms   TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT,
    reminded_at BIGINT
);

CREATE TABLE repost_done (
    task_id      BIGINT NOT NULL,
    account_id   TEXT NOT NULL,
    post_id      BIGINT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, account_id)
);

-- The web console: one-time sign-in links and the sessions they become.
-- Only a SHA-256 of each token is kept: a copy of the database signs no one in.
CREATE TABLE web_links (
    token_hash  TEXT PRIMARY KEY,
    role        TEXT NOT NULL,      -- 'admin' or 'contact'
    units       TEXT NOT NULL,      -- unit ids a contact may see, comma-separated
    person      TEXT NOT NULL,      -- who the audit trail names
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    role        TEXT NOT NULL,
    units       TEXT NOT NULL,
    person      TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX web_sessions_seen ON web_sessions (seen_at);

-- Uploaded workbooks waiting for their confirmation (a dry run shown, then applied).
CREATE TABLE web_uploads (
    id          BIGSERIAL PRIMARY KEY,
    session     TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    bytes       BYTEA NOT NULL,
    is_pruning  BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    applied_at  BIGINT
);

-- 暂缓 with a reason (the console asks for one; chat may give none).
ALTER TABLE silences ADD COLUMN reason TEXT NOT NULL DEFAULT '';

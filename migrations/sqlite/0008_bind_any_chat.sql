-- /bind from any chat: the applicant is a chat user id as the daemon writes
-- it (`telegram:123`, `dingtalk:staffId`), not only a Telegram id.
CREATE TABLE bind_requests_new (
    id           INTEGER PRIMARY KEY,
    applicant    TEXT NOT NULL,
    name         TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    decided_by   TEXT,
    decided_at   INTEGER
);
INSERT INTO bind_requests_new (id, applicant, name, unit_id, status, created_at, decided_by, decided_at)
    SELECT id, 'telegram:' || telegram_id, name, unit_id, status, created_at, decided_by, decided_at
    FROM bind_requests;
DROP TABLE bind_requests;
ALTER TABLE bind_requests_new RENAME TO bind_requests;
CREATE INDEX bind_requests_applicant ON bind_requests (applicant, created_at);
